-- The delivery engine plans a bounded window of the outbox: the emails with
-- the earliest pending intents (removals first), then every pending intent
-- of those emails. These partial indexes cover only pending intents, so they
-- stay as small as the backlog; the known state's latest update is read
-- through its own index instead of a scan of every known user.
CREATE INDEX intents_pending_email ON intents (email, seq) WHERE state = 'pending';
CREATE INDEX intents_pending_kind ON intents (kind, seq) WHERE state = 'pending';
CREATE INDEX bc_users_updated ON bc_users (updated_at);
