-- One relay at a time: a transaction-level advisory lock, released at commit or rollback.
-- Selecting and recording a batch under it means two relays never publish the same batch.
SELECT pg_try_advisory_xact_lock(hashtext('events.outbox relay'))
