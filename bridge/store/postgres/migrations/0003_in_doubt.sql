-- Targets whose last request went out without a recorded answer (a crash, a
-- timeout, a cancel): BigCommerce may or may not have applied it, so the
-- record is not evidence for them until BigCommerce answers again.
ALTER TABLE bc_users ADD COLUMN account_in_doubt boolean NOT NULL DEFAULT false;
ALTER TABLE bc_users ADD COLUMN stores_in_doubt text[] NOT NULL DEFAULT '{}';
