-- idsync SQL store, schema version 1, SQLite.
--
-- Keys are TEXT with the default BINARY collation, so that the primary key
-- indexes return them in bytewise order (Go string order). Entity types and
-- associations are numbered, so that the millions of resource and link rows
-- carry a small integer instead of a name.

CREATE TABLE idsync_entity_types (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

CREATE TABLE idsync_associations (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	source_type TEXT NOT NULL DEFAULT '',
	target_type TEXT NOT NULL DEFAULT ''
);

-- One row per resource; props is a JSON object of its non-null canonical
-- property values by property name.
CREATE TABLE idsync_resources (
	type_id INTEGER NOT NULL,
	key     TEXT NOT NULL,
	props   TEXT NOT NULL,
	PRIMARY KEY (type_id, key)
) WITHOUT ROWID;

CREATE TABLE idsync_links (
	assoc_id INTEGER NOT NULL,
	source   TEXT NOT NULL,
	target   TEXT NOT NULL,
	PRIMARY KEY (assoc_id, source, target)
) WITHOUT ROWID;

CREATE INDEX idsync_links_by_target ON idsync_links (assoc_id, target, source);

-- The fingerprint of each connector's stored state: a counter bumped by
-- every Apply.
CREATE TABLE idsync_connectors (
	name    TEXT PRIMARY KEY,
	version INTEGER NOT NULL
);

CREATE TABLE idsync_runs (
	id        TEXT PRIMARY KEY,
	connector TEXT NOT NULL,
	state     TEXT NOT NULL,
	data      TEXT NOT NULL
);

CREATE INDEX idsync_runs_by_connector ON idsync_runs (connector, id);
