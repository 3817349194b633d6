-- A narrow index over the paging order. An unfiltered page (startIndex=N)
-- finds its first row by skipping N-1 entries of this index, a few pages of
-- integers, instead of N-1 rows of the users table, whose rows carry the JSON
-- attributes (tens of megabytes at 100,000 users). COUNT(*) of the whole table
-- uses it too, being the smallest index.
CREATE INDEX users_seq ON users (seq);
