package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	idsync "github.com/idsync/idsync/sync"
)

// Apply implements idsync.Store. It applies the whole change set in one
// transaction, which begins by comparing and bumping the connector's
// fingerprint: a stale plan fails before anything is written. Resources
// and links are written in batches: multi-row statements prepared once per
// transaction on SQLite, COPY and set-based statements on PostgreSQL. An
// insert of a stored key, an update or a delete of a missing key, or a
// link inserted twice or deleted while missing fail with an error
// matching idsync.ErrStalePlan.
//
// An error, a crash or a cancelled ctx leaves the store as it was; a
// cancellation is checked one last time before the commit, which itself
// is never interrupted.
//
// On SQLite, a change set that inserts at least 100,000 links, more than
// are stored, drops the index of links by target (an initial load,
// typically): maintaining it would cost more than inserting the links.
// LinksTo builds it again when it is first called.
//
// A SQLite error about the database file (read-only, disk full) is a
// *FileError naming the file and the likely cause.
func (s *Store) Apply(ctx context.Context, cs *idsync.ChangeSet) error {
	return s.ApplyRun(ctx, cs, nil)
}

// ApplyRun implements idsync.StateStore: Apply, with c's run records and
// connector state written in the same transaction, just before it
// commits (c may be nil).
func (s *Store) ApplyRun(ctx context.Context, cs *idsync.ChangeSet, c *idsync.Commit) error {
	if s.dialect == Postgres {
		return s.applyPostgres(ctx, cs, c)
	}
	return fileError(s.path, s.applySQLite(ctx, cs, c))
}

// writeCounter counts the changes written, checks ctx now and then, and
// injects Options.FailAfter.
type writeCounter struct {
	ctx       context.Context
	n         int
	failAfter int
}

func (w *writeCounter) add() error {
	w.n++
	if w.failAfter > 0 && w.n > w.failAfter {
		return errInjected
	}
	if w.n%1024 == 0 {
		return w.ctx.Err()
	}
	return nil
}

// canceled returns err, or ctx's error if ctx is done: a cancelled
// transaction fails with errors such as "statement is closed".
func canceled(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("sqlstore: apply: %w (%v)", context.Cause(ctx), err)
	}
	return err
}

// execer is a transaction of either dialect, for the statements they share.
type execer interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error }
}

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t sqlTx) queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	return t.tx.QueryRowContext(ctx, query, args...)
}

// begin does what an Apply does first in its transaction: compare and
// bump the connector's fingerprint, then number the change set's entity
// types and associations.
func (s *Store) begin(ctx context.Context, tx execer, cs *idsync.ChangeSet) (types, assocs map[string]int64, err error) {
	planned, err := s.parseFingerprint(cs.Fingerprint())
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.exec(ctx, s.q("INSERT INTO idsync_connectors (name, version) VALUES (?, 0) ON CONFLICT (name) DO NOTHING"), cs.Connector()); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: apply: %w", err)
	}
	n, err := tx.exec(ctx, s.q("UPDATE idsync_connectors SET version = version + 1 WHERE name = ? AND version = ?"), cs.Connector(), planned)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: apply: %w", err)
	}
	if n != 1 {
		var cur int64
		if err := tx.queryRow(ctx, s.q("SELECT version FROM idsync_connectors WHERE name = ?"), cs.Connector()).Scan(&cur); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: apply: %w", err)
		}
		return nil, nil, staleError("%s has fingerprint %s, the change set was planned against %s", cs.Connector(), s.fingerprint(cur), cs.Fingerprint())
	}
	types = map[string]int64{}
	for _, e := range cs.EntityTypes() {
		if types[e.Name], err = s.nameID(ctx, tx, "idsync_entity_types", e.Name); err != nil {
			return nil, nil, err
		}
	}
	assocs = map[string]int64{}
	for _, a := range cs.Associations() {
		var src, tgt string
		if m := cs.Model(); m != nil {
			for _, ma := range m.Associations {
				if ma.Name == a.Name {
					// Ends are stored by entity type name, without the
					// "Connector." that a model may prefix them with.
					src, tgt = bareName(ma.Source.EntityType), bareName(ma.Target.EntityType)
				}
			}
		}
		if _, err := tx.exec(ctx, s.q(`INSERT INTO idsync_associations (name, source_type, target_type) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET source_type = excluded.source_type, target_type = excluded.target_type`), a.Name, src, tgt); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: apply: %w", err)
		}
		if assocs[a.Name], err = s.nameID(ctx, tx, "idsync_associations", a.Name); err != nil {
			return nil, nil, err
		}
	}
	return types, assocs, nil
}

// nameID returns the number of an entity type or association, numbering
// it if it is new.
func (s *Store) nameID(ctx context.Context, tx execer, table, name string) (int64, error) {
	if _, err := tx.exec(ctx, s.q("INSERT INTO "+table+" (name) VALUES (?) ON CONFLICT (name) DO NOTHING"), name); err != nil {
		return 0, fmt.Errorf("sqlstore: apply: %w", err)
	}
	var id int64
	if err := tx.queryRow(ctx, s.q("SELECT id FROM "+table+" WHERE name = ?"), name).Scan(&id); err != nil {
		return 0, fmt.Errorf("sqlstore: apply: %w", err)
	}
	return id, nil
}

// bareName drops the "Connector." prefix of an entity type's name.
func bareName(name string) string {
	if _, typ, ok := strings.Cut(name, "."); ok {
		return typ
	}
	return name
}
