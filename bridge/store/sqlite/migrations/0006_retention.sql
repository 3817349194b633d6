-- What reconciliation must remember about deleted users once the intents that
-- told it are pruned: every (SCIM user, email) pair a SCIM-sourced account
-- removal was queued for. A trigger records it with the intent, in the same
-- transaction, whichever code path appends it; existing history is copied
-- once here. It grows with distinct pairs (users and their email changes),
-- not with traffic.
CREATE TABLE removed_identities (
	user_id TEXT NOT NULL,
	email   TEXT NOT NULL,
	PRIMARY KEY (user_id, email)
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO removed_identities (user_id, email)
	SELECT user_id, email FROM intents
	WHERE source = 'scim' AND kind = 'account.remove' AND user_id <> '';

CREATE TRIGGER intents_removed_identity AFTER INSERT ON intents
	WHEN NEW.source = 'scim' AND NEW.kind = 'account.remove' AND NEW.user_id <> ''
BEGIN
	INSERT OR IGNORE INTO removed_identities (user_id, email) VALUES (NEW.user_id, NEW.email);
END;

-- Pruning finds settled intents by state and settling time, and old audit
-- events by time, through these ranges instead of scanning the tables.
CREATE INDEX intents_settled ON intents (state, done_at) WHERE done_at IS NOT NULL;
CREATE INDEX audit_time ON audit (time);
