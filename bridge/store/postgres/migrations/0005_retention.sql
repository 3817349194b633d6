-- What reconciliation must remember about deleted users once the intents that
-- told it are pruned: every (SCIM user, email) pair a SCIM-sourced account
-- removal was queued for. A trigger records it with the intent, in the same
-- transaction, whichever code path appends it; existing history is copied
-- once here. It grows with distinct pairs (users and their email changes),
-- not with traffic.
CREATE TABLE removed_identities (
	user_id text NOT NULL,
	email   text NOT NULL,
	PRIMARY KEY (user_id, email)
);

INSERT INTO removed_identities (user_id, email)
	SELECT DISTINCT user_id, email FROM intents
	WHERE source = 'scim' AND kind = 'account.remove' AND user_id <> ''
	ON CONFLICT DO NOTHING;

CREATE FUNCTION intents_removed_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO removed_identities (user_id, email) VALUES (NEW.user_id, NEW.email)
		ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

CREATE TRIGGER intents_removed_identity AFTER INSERT ON intents
	FOR EACH ROW
	WHEN (NEW.source = 'scim' AND NEW.kind = 'account.remove' AND NEW.user_id <> '')
	EXECUTE FUNCTION intents_removed_identity();

-- Pruning finds settled intents by state and settling time, and old audit
-- events by time, through these ranges instead of scanning the tables.
CREATE INDEX intents_settled ON intents (state, done_at) WHERE done_at IS NOT NULL;
CREATE INDEX audit_time ON audit (time);
