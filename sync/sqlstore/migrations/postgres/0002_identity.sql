-- idsync SQL store, schema version 2, PostgreSQL: the store's identity.
--
-- One row, made once with the store (one per schema): every connector's
-- fingerprint includes it, so that a plan made against one store never
-- applies to another.

CREATE TABLE idsync_store (
	id       integer PRIMARY KEY CHECK (id = 1),
	identity text NOT NULL
);

INSERT INTO idsync_store (id, identity) VALUES (1, replace(gen_random_uuid()::text, '-', ''));
