-- idsync SQL store, schema version 3: the engine's state (idsync.StateStore).
--
-- Run records keep their start time as fixed-width UTC text
-- (2006-01-02T15:04:05.000000000Z), so that text order is time order, for
-- listing newest first with paging. A connector's state is a JSON object
-- (idsync.ConnectorState), changed in the transaction of an Apply when a
-- run succeeds.

ALTER TABLE idsync_runs ADD COLUMN started TEXT NOT NULL DEFAULT '';

CREATE INDEX idsync_runs_by_started ON idsync_runs (started, id);

CREATE TABLE idsync_connector_state (
	name TEXT PRIMARY KEY,
	data TEXT NOT NULL
);
