-- The access history: one row per change of a person's BigCommerce access the
-- bridge confirmed, observed or gave up on. It is written in the transactions
-- that settle intents and record listings, and is kept for the history
-- retention, independently of the intents it came from.
--
-- store_hash is '' for account membership. outcome is applied, already (found
-- in effect), observed (seen in a listing or an answer, not caused by the
-- bridge) or dead (never confirmed). at is when BigCommerce confirmed the
-- change (or when it was observed, or dead-lettered); requested_at when the
-- IdP, a reconciliation run or an operator asked for it (NULL when observed).
CREATE TABLE access_history (
	seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at           timestamptz NOT NULL,
	email        text        NOT NULL,
	store_hash   text        NOT NULL,
	change       text        NOT NULL,
	outcome      text        NOT NULL,
	user_id      text        NOT NULL,
	source       text        NOT NULL,
	request_id   text        NOT NULL,
	cause        text        NOT NULL,
	requested_at timestamptz
);

CREATE INDEX access_history_at ON access_history (at, seq);
CREATE INDEX access_history_email ON access_history (email, seq);
CREATE INDEX access_history_store ON access_history (store_hash, seq);

-- The kind of request that caused an intent (user.deactivate, user.delete,
-- group.update, reconcile.repair, ...), carried into the access history.
ALTER TABLE intents ADD COLUMN cause text NOT NULL DEFAULT '';
