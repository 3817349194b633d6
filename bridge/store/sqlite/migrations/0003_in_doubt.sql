-- Targets whose last request went out without a recorded answer (a crash, a
-- timeout, a cancel): BigCommerce may or may not have applied it, so the
-- record is not evidence for them until BigCommerce answers again.
-- stores_in_doubt is a JSON array of store hashes.
ALTER TABLE bc_users ADD COLUMN account_in_doubt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bc_users ADD COLUMN stores_in_doubt TEXT NOT NULL DEFAULT '[]';
