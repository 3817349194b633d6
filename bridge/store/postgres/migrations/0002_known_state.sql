-- Known state: what the bridge last knew of each BigCommerce user, from
-- listings and from the results of its own mutations.
CREATE TABLE bc_users (
	email      text COLLATE "C" PRIMARY KEY,
	user_id    text NOT NULL,
	in_account boolean NOT NULL,
	stores     text[] NOT NULL,
	updated_at timestamptz NOT NULL
);

-- Two active users may not share a BigCommerce identity: they would fight over
-- one control-panel account (deactivating one would remove the other's access).
CREATE UNIQUE INDEX users_active_bc_email ON users (bc_email) WHERE active AND bc_email <> '';
