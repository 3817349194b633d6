-- Initial schema of the PostgreSQL backend.
--
-- Absent text is '' rather than NULL; NULL marks a zero time in optional time
-- columns. The *_lc columns hold strings.ToLower of their source column
-- (computed in Go, the same function the filter values go through). Columns that
-- filters compare use COLLATE "C" so that gt/ge/lt/le compare bytes, whatever the
-- database's default collation, and so that their indexes serve those filters.

-- seq is the insertion order used for paging (see the package documentation for
-- what an identity column does and does not promise).
CREATE TABLE users (
	id                  text COLLATE "C" PRIMARY KEY,
	seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	user_name           text        NOT NULL,
	user_name_lc        text COLLATE "C" NOT NULL UNIQUE,
	external_id         text COLLATE "C" NOT NULL,
	display_name        text        NOT NULL,
	display_name_lc     text COLLATE "C" NOT NULL,
	active              boolean     NOT NULL,
	bc_email            text        NOT NULL,
	-- emails is the list as written (the read path); user_emails indexes it.
	emails              json        NOT NULL,
	-- json, not jsonb: the document is stored and returned whole, never queried
	-- into, so there is no reason to pay for jsonb's re-encoding.
	attributes          json        NOT NULL,
	version             bigint      NOT NULL,
	created             timestamptz NOT NULL,
	modified            timestamptz NOT NULL,
	sync_state          text        NOT NULL DEFAULT '',
	sync_last_synced_at timestamptz,
	sync_bc_user_id     text        NOT NULL DEFAULT '',
	sync_last_error     text        NOT NULL DEFAULT ''
);

CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_display_name_lc ON users (display_name_lc);

CREATE TABLE user_emails (
	user_id  text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	value_lc text COLLATE "C" NOT NULL,
	type_lc  text COLLATE "C" NOT NULL
);

CREATE INDEX user_emails_value ON user_emails (value_lc, user_id);
CREATE INDEX user_emails_type_value ON user_emails (type_lc, value_lc, user_id);
CREATE INDEX user_emails_user ON user_emails (user_id);

CREATE TABLE groups (
	id              text COLLATE "C" PRIMARY KEY,
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	display_name    text        NOT NULL,
	display_name_lc text COLLATE "C" NOT NULL UNIQUE,
	external_id     text COLLATE "C" NOT NULL,
	attributes      json        NOT NULL,
	version         bigint      NOT NULL,
	created         timestamptz NOT NULL,
	modified        timestamptz NOT NULL
);

CREATE INDEX groups_external_id ON groups (external_id);

CREATE TABLE group_members (
	group_id  text COLLATE "C" NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	user_id   text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	added_seq bigint GENERATED ALWAYS AS IDENTITY,
	PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE intents (
	seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind            text        NOT NULL,
	email           text        NOT NULL,
	store_hash      text        NOT NULL,
	user_id         text        NOT NULL,
	source          text        NOT NULL,
	request_id      text        NOT NULL,
	created_at      timestamptz NOT NULL,
	state           text        NOT NULL,
	attempts        integer     NOT NULL,
	next_attempt_at timestamptz,
	last_error      text        NOT NULL,
	done_at         timestamptz
);

CREATE INDEX intents_state ON intents (state, seq);
CREATE INDEX intents_user ON intents (user_id, seq);

CREATE TABLE audit (
	seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time          timestamptz NOT NULL,
	actor         text        NOT NULL,
	action        text        NOT NULL,
	resource_type text        NOT NULL,
	resource_id   text        NOT NULL,
	request_id    text        NOT NULL,
	detail        text        NOT NULL
);

CREATE TABLE state (
	key        text PRIMARY KEY,
	value      bytea       NOT NULL,
	updated_at timestamptz NOT NULL
);

-- A released lease keeps its row (holder '') so its epoch never goes back.
CREATE TABLE leases (
	name    text PRIMARY KEY,
	holder  text        NOT NULL,
	epoch   bigint      NOT NULL,
	expires timestamptz NOT NULL
);

-- probe rows are written and deleted by Ping.
CREATE TABLE probe (
	token text PRIMARY KEY,
	at    timestamptz NOT NULL
);
