-- Unfiltered user pages (GET /Users?startIndex=N) need the number of users
-- and the user at position N. users_stats keeps both cheap to find: count is
-- the number of users and deletes counts deletions, maintained by triggers in
-- the transaction that changes users, so a reader sees the values of its own
-- snapshot. New users always get a seq above every existing one (seq is the
-- rowid), so positions change only when a user is deleted: a cache of every
-- 256th user's seq built under a given deletes value stays exact until it
-- changes (see positions.go).
CREATE TABLE users_stats (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	count   INTEGER NOT NULL,
	deletes INTEGER NOT NULL
) STRICT;
INSERT INTO users_stats (id, count, deletes) SELECT 1, COUNT(*), 0 FROM users;

CREATE TRIGGER users_stats_insert AFTER INSERT ON users
BEGIN
	UPDATE users_stats SET count = count + 1 WHERE id = 1;
END;

CREATE TRIGGER users_stats_delete AFTER DELETE ON users
BEGIN
	UPDATE users_stats SET count = count - 1, deletes = deletes + 1 WHERE id = 1;
END;
