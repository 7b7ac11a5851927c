// Package sqlstore is an [idsync.Store] on a SQL database: SQLite, embedded
// and the default (a file path is all it needs), or PostgreSQL for real
// deployments. It implements [idsync.SortedScanner], [idsync.Locker] and
// [idsync.Identifier], and has query methods (List, Get, LinksFrom,
// LinksTo, Associations) for a host that shows or verifies what a
// synchronization stored.
//
//	store, err := sqlstore.Open(ctx, "sqlite:./idsync.db", nil)
//	if err != nil { ... }
//	defer store.Close()
//	engine := idsync.New(store, &idsync.Options{WorkDir: "work"})
//
// The URL forms that [Open] accepts:
//
//	sqlite:./idsync.db              a SQLite file, relative
//	sqlite:///var/lib/idsync.db     a SQLite file, absolute
//	file:idsync.db?mode=rwc         a SQLite URI
//	./idsync.db                     a path ending in .db, .sqlite or .sqlite3
//	postgres://user:pw@host/db      PostgreSQL, also postgresql://
//
// A host that has its own *sql.DB passes it to [New].
//
// # Drivers
//
// SQLite is reached through modernc.org/sqlite (pure Go, no cgo), with the
// write-ahead log (turned on once by Open), synchronous commits, a busy timeout, and write
// transactions that take the write lock as they begin. PostgreSQL is
// reached through github.com/jackc/pgx/v5: its database/sql driver for
// queries, and pgx itself for COPY when applying.
//
// # Schema
//
// The store creates and migrates its tables itself, all named idsync_*,
// from versioned migrations embedded in the package; the version is kept in
// idsync_schema_version. Opening a database whose schema is newer than this
// package knows fails with [ErrSchemaTooNew] and changes nothing.
//
//	idsync_entity_types (id, name)                       entity types, numbered
//	idsync_associations (id, name, source_type, target_type)
//	idsync_resources    (type_id, key, props)            PRIMARY KEY (type_id, key)
//	idsync_links        (assoc_id, source, target)       PRIMARY KEY (assoc_id, source, target)
//	                                                     and an index (assoc_id, target, source)
//	idsync_connectors   (name, version)                  the fingerprints' versions
//	idsync_store        (id, identity)                   one row: the store's identity
//	idsync_runs         (id, connector, state, started, data)  the engine's run records
//	idsync_connector_state (name, data)                  the engine's state of each connector
//
// The last two make the Store an [idsync.StateStore]: every engine on the
// store, whatever its work folder, shares the run records (JSON, with
// their connector, state and start time in columns for listing newest
// first) and the connectors' states (blocked run, run in progress,
// cursor, previous-snapshot pointer, activation). ApplyRun writes a run's
// success into them in the transaction of its changes, just before
// COMMIT, on SQLite and PostgreSQL alike: a process killed at any moment
// leaves the changes and the run's success together, or neither.
//
// A resource is one row whose props column holds its non-null canonical
// property values as a JSON object, {"name":"Ann","hireDate":"2024-01-02"}
// (jsonb on PostgreSQL). One row per resource rather than one per
// (resource, property) keeps the tables and their indexes ten times
// smaller for ten properties: a full scan is one walk of the primary key
// returning one row per resource, already grouped, and an insert writes
// one row. An update merges the properties it changes into the object in
// the database (json_patch on SQLite, || on PostgreSQL), leaving the
// others untouched, including properties that no mapping covers. The JSON
// stays readable for a person or a report: json_extract(props, '$.name')
// on SQLite, props->>'name' on PostgreSQL.
//
// A fingerprint is the store's identity and the connector's version,
// "<identity>/<version>": the identity is made once, when the schema is
// created (migration 2), so a plan made against one database (one
// PostgreSQL schema) never applies to another, while the database
// reopened, by this process or another, is the same store. A copy of a
// SQLite file, or a restored dump, is the same store as the original.
//
// Keys sort bytewise, as the engine needs (Go string order): SQLite's
// default BINARY collation, and COLLATE "C" on PostgreSQL's key columns.
// Scans stream rows from the primary key index, in that order.
//
// # Apply
//
// Apply runs in one transaction. It first compares and bumps the
// connector's fingerprint (a stale plan fails before any write), then
// writes batches. On SQLite, one goroutine reads and encodes the change
// set while another writes it with multi-row INSERT and DELETE statements
// prepared once per transaction, and json_patch updates. On PostgreSQL,
// the inserts are copied (COPY) into their tables, and the updates and
// deletes into a temporary table, applied by one UPDATE ... FROM and one
// DELETE ... USING. The unique keys of inserts and the row counts of
// updates and deletes detect a plan that does not match the stored state:
// the error matches [idsync.ErrStalePlan], names a key, and nothing is
// written. A crash during Apply leaves the state from before (SQLite's
// write-ahead log, PostgreSQL's transaction).
//
// On SQLite, a bulk load of links (at least 100,000 inserted, more than
// are stored) drops the index of links by target, whose upkeep would cost
// more than inserting the links; [Store.LinksTo] builds it again, in one
// pass, when it is first called.
//
// # Locks
//
// [Store.Lock] excludes other runs of a connector in every process using
// the store: a PostgreSQL advisory lock, or on SQLite a lock file per
// connector next to the database (see Lock for the limits).
//
// PostgreSQL cannot store the NUL character in text, so keys and values
// holding it fail to apply there; SQLite stores them.
package sqlstore
