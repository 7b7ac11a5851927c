-- idsync SQL store, schema version 2, SQLite: the store's identity.
--
-- One row, made once with the store: every connector's fingerprint
-- includes it, so that a plan made against one store never applies to
-- another (a copy of the database file is the same store).

CREATE TABLE idsync_store (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	identity TEXT NOT NULL
);

INSERT INTO idsync_store (id, identity) VALUES (1, lower(hex(randomblob(16))));
