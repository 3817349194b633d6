-- Initial schema of the SQLite backend.
--
-- Times are integer microseconds since the Unix epoch (UTC); NULL marks a zero
-- time where the column is optional. Absent text is '' rather than NULL. The *_lc
-- columns hold strings.ToLower of their source column, computed in Go because
-- SQLite's lower() folds ASCII only. Tables are STRICT so a wrong type is an error
-- instead of a silently converted value.

-- seq is the rowid: the insertion order used for paging. A new row always gets a
-- seq above every existing one, so the order of existing users never changes.
CREATE TABLE users (
	seq                 INTEGER PRIMARY KEY,
	id                  TEXT    NOT NULL UNIQUE,
	user_name           TEXT    NOT NULL,
	user_name_lc        TEXT    NOT NULL UNIQUE,
	external_id         TEXT    NOT NULL,
	display_name        TEXT    NOT NULL,
	display_name_lc     TEXT    NOT NULL,
	active              INTEGER NOT NULL,
	bc_email            TEXT    NOT NULL,
	-- emails is the JSON array of the user's emails as written (the read path);
	-- user_emails below indexes the same values for filtering.
	emails              TEXT    NOT NULL,
	attributes          TEXT    NOT NULL,
	version             INTEGER NOT NULL,
	created             INTEGER NOT NULL,
	modified            INTEGER NOT NULL,
	sync_state          TEXT    NOT NULL DEFAULT '',
	sync_last_synced_at INTEGER,
	sync_bc_user_id     TEXT    NOT NULL DEFAULT '',
	sync_last_error     TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_display_name_lc ON users (display_name_lc);

-- user_emails is a search index over users.emails: one row per email.
CREATE TABLE user_emails (
	user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	value_lc TEXT NOT NULL,
	type_lc  TEXT NOT NULL
) STRICT;

CREATE INDEX user_emails_value ON user_emails (value_lc, user_id);
CREATE INDEX user_emails_type_value ON user_emails (type_lc, value_lc, user_id);
CREATE INDEX user_emails_user ON user_emails (user_id);

CREATE TABLE groups (
	seq             INTEGER PRIMARY KEY,
	id              TEXT    NOT NULL UNIQUE,
	display_name    TEXT    NOT NULL,
	display_name_lc TEXT    NOT NULL UNIQUE,
	external_id     TEXT    NOT NULL,
	attributes      TEXT    NOT NULL,
	version         INTEGER NOT NULL,
	created         INTEGER NOT NULL,
	modified        INTEGER NOT NULL
) STRICT;

CREATE INDEX groups_external_id ON groups (external_id);

-- added_seq is the rowid, so members come back in the order they were added.
CREATE TABLE group_members (
	added_seq INTEGER PRIMARY KEY,
	group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	UNIQUE (group_id, user_id)
) STRICT;

CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- AUTOINCREMENT: an intent's seq is never reused, even for the highest one.
CREATE TABLE intents (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	kind            TEXT    NOT NULL,
	email           TEXT    NOT NULL,
	store_hash      TEXT    NOT NULL,
	user_id         TEXT    NOT NULL,
	source          TEXT    NOT NULL,
	request_id      TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_at INTEGER,
	last_error      TEXT    NOT NULL,
	done_at         INTEGER
) STRICT;

CREATE INDEX intents_state ON intents (state, seq);
CREATE INDEX intents_user ON intents (user_id, seq);

CREATE TABLE audit (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	time          INTEGER NOT NULL,
	actor         TEXT    NOT NULL,
	action        TEXT    NOT NULL,
	resource_type TEXT    NOT NULL,
	resource_id   TEXT    NOT NULL,
	request_id    TEXT    NOT NULL,
	detail        TEXT    NOT NULL
) STRICT;

CREATE TABLE state (
	key        TEXT    PRIMARY KEY,
	value      BLOB    NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- A released lease keeps its row (holder '') so its epoch never goes back.
CREATE TABLE leases (
	name    TEXT    PRIMARY KEY,
	holder  TEXT    NOT NULL,
	epoch   INTEGER NOT NULL,
	expires INTEGER NOT NULL
) STRICT;

-- probe rows are written and deleted by Ping.
CREATE TABLE probe (
	token TEXT    PRIMARY KEY,
	at    INTEGER NOT NULL
) STRICT;
