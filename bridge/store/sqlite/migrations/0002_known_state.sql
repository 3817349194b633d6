-- Known state: what the bridge last knew of each BigCommerce user, from
-- listings and from the results of its own mutations. stores is a JSON array
-- of store hashes.
CREATE TABLE bc_users (
	email      TEXT    PRIMARY KEY,
	user_id    TEXT    NOT NULL,
	in_account INTEGER NOT NULL,
	stores     TEXT    NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- Two active users may not share a BigCommerce identity: they would fight over
-- one control-panel account (deactivating one would remove the other's access).
CREATE UNIQUE INDEX users_active_bc_email ON users (bc_email) WHERE active = 1 AND bc_email <> '';
