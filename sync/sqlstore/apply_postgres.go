package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	idsync "github.com/idsync/idsync/sync"
)

type pgxTx struct{ tx pgx.Tx }

func (t pgxTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (t pgxTx) queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	return t.tx.QueryRow(ctx, query, args...)
}

// applyPostgres applies on one connection of the pool, through pgx
// directly for COPY: inserts are copied straight into their table;
// updates and deletes are copied into a temporary table, then applied by
// one UPDATE ... FROM and one DELETE ... USING per entity type (and one
// DELETE per association), whose row counts must match.
func (s *Store) applyPostgres(ctx context.Context, cs *idsync.ChangeSet, c *idsync.Commit) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: PostgreSQL needs the pgx driver (github.com/jackc/pgx/v5/stdlib), not %T", dc)
		}
		return s.applyPgx(ctx, pc.Conn(), cs, c)
	})
}

func (s *Store) applyPgx(ctx context.Context, conn *pgx.Conn, cs *idsync.ChangeSet, c *idsync.Commit) (err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			err = canceled(ctx, err)
		}
	}()
	types, assocs, err := s.begin(ctx, pgxTx{tx}, cs)
	if err != nil {
		return err
	}
	a := &pgApplier{ctx: ctx, tx: tx, cs: cs, count: &writeCounter{ctx: ctx, failAfter: int(s.failAfter.Load())}}
	for _, e := range cs.EntityTypes() {
		if e.Inserted > 0 {
			if err := a.insertResources(e.Name, types[e.Name]); err != nil {
				return err
			}
		}
		if e.Updated+e.Deleted > 0 {
			if err := a.changeResources(e.Name, types[e.Name]); err != nil {
				return err
			}
		}
	}
	for _, as := range cs.Associations() {
		if as.Inserted > 0 {
			if err := a.insertLinks(as.Name, assocs[as.Name]); err != nil {
				return err
			}
		}
		if as.Deleted > 0 {
			if err := a.deleteLinks(as.Name, assocs[as.Name]); err != nil {
				return err
			}
		}
	}
	if c != nil {
		if err := s.commit(ctx, pgxTx{tx}, c); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A cancellation while COMMIT is in flight would leave its outcome
	// unknown: past this point, Apply runs to its end.
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("sqlstore: apply: commit: %w", err)
	}
	return nil
}

type pgApplier struct {
	ctx   context.Context
	tx    pgx.Tx
	cs    *idsync.ChangeSet
	count *writeCounter
	enc   propsEncoder
	temp  bool // the temporary tables exist
}

// copyFrom copies the changes of seq into table, as the rows that row
// returns (nil to skip a change).
func copyFrom[C any](a *pgApplier, seq iter.Seq2[C, error], table string, columns []string, row func(C) ([]any, error)) (int64, error) {
	next, stop := iter.Pull2(seq)
	defer stop()
	return a.tx.CopyFrom(a.ctx, pgx.Identifier{table}, columns, pgx.CopyFromFunc(func() ([]any, error) {
		for {
			c, err, ok := next()
			if !ok {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			r, err := row(c)
			if err != nil {
				return nil, err
			}
			if r == nil {
				continue
			}
			if err := a.count.add(); err != nil {
				return nil, err
			}
			return r, nil
		}
	}))
}

func uniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.Detail, true
	}
	return "", false
}

func (a *pgApplier) insertResources(name string, tid int64) error {
	_, err := copyFrom(a, a.cs.Resources(name), "idsync_resources", []string{"type_id", "key", "props"},
		func(c idsync.ResourceChange) ([]any, error) {
			if c.Op != idsync.Insert {
				return nil, nil
			}
			a.enc.reset()
			for _, p := range c.Props {
				if p.New != "" {
					a.enc.add(p.Name, p.New)
				}
			}
			props, err := a.enc.finish()
			if err != nil {
				return nil, fmt.Errorf("sqlstore: insert %s %q: %w", name, c.Key, err)
			}
			return []any{tid, c.Key, props}, nil
		})
	if detail, ok := uniqueViolation(err); ok {
		return staleError("insert of a stored key of %s: %s", name, detail)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	return nil
}

// tempTables creates the transaction's temporary tables, or empties them.
func (a *pgApplier) tempTables() error {
	query := `CREATE TEMPORARY TABLE idsync_apply_resources (key text COLLATE "C" NOT NULL, op text NOT NULL, patch jsonb) ON COMMIT DROP;
		CREATE TEMPORARY TABLE idsync_apply_links (source text COLLATE "C" NOT NULL, target text COLLATE "C" NOT NULL) ON COMMIT DROP`
	if a.temp {
		query = "TRUNCATE idsync_apply_resources, idsync_apply_links"
	}
	if _, err := a.tx.Exec(a.ctx, query); err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	a.temp = true
	return nil
}

func (a *pgApplier) changeResources(name string, tid int64) error {
	if err := a.tempTables(); err != nil {
		return err
	}
	var updates, deletes int64
	_, err := copyFrom(a, a.cs.Resources(name), "idsync_apply_resources", []string{"key", "op", "patch"},
		func(c idsync.ResourceChange) ([]any, error) {
			switch c.Op {
			case idsync.Delete:
				deletes++
				return []any{c.Key, "D", nil}, nil
			case idsync.Update:
				updates++
				a.enc.reset()
				for _, p := range c.Props {
					if p.New == "" {
						a.enc.addNull(p.Name)
					} else {
						a.enc.add(p.Name, p.New)
					}
				}
				patch, err := a.enc.finish()
				if err != nil {
					return nil, fmt.Errorf("sqlstore: update %s %q: %w", name, c.Key, err)
				}
				return []any{c.Key, "U", patch}, nil
			}
			return nil, nil
		})
	if err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	if _, err := a.tx.Exec(a.ctx, "ANALYZE idsync_apply_resources"); err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	if updates > 0 {
		ok, err := a.execCounted(updates, `UPDATE idsync_resources r SET props = jsonb_strip_nulls(r.props || t.patch)
			FROM idsync_apply_resources t WHERE t.op = 'U' AND r.type_id = $1 AND r.key = t.key`, tid)
		if err != nil {
			return fmt.Errorf("sqlstore: apply %s: %w", name, err)
		}
		if !ok {
			return a.missing(name, tid, "update", "U")
		}
	}
	if deletes > 0 {
		ok, err := a.execCounted(deletes, `DELETE FROM idsync_resources r USING idsync_apply_resources t
			WHERE t.op = 'D' AND r.type_id = $1 AND r.key = t.key`, tid)
		if err != nil {
			return fmt.Errorf("sqlstore: apply %s: %w", name, err)
		}
		if !ok {
			return a.missing(name, tid, "delete", "D")
		}
	}
	return nil
}

// execCounted runs a statement that must change want rows. If it changes
// another number, it is undone (to a savepoint), so that the caller can
// tell which rows were missing.
func (a *pgApplier) execCounted(want int64, query string, args ...any) (bool, error) {
	if _, err := a.tx.Exec(a.ctx, "SAVEPOINT idsync_counted"); err != nil {
		return false, err
	}
	tag, err := a.tx.Exec(a.ctx, query, args...)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() != want {
		_, err := a.tx.Exec(a.ctx, "ROLLBACK TO SAVEPOINT idsync_counted")
		return false, err
	}
	_, err = a.tx.Exec(a.ctx, "RELEASE SAVEPOINT idsync_counted")
	return true, err
}

// missing names a key that an update or delete does not find.
func (a *pgApplier) missing(name string, tid int64, what, op string) error {
	var key string
	err := a.tx.QueryRow(a.ctx, `SELECT t.key FROM idsync_apply_resources t WHERE t.op = $2
		AND NOT EXISTS (SELECT FROM idsync_resources r WHERE r.type_id = $1 AND r.key = t.key) ORDER BY t.key LIMIT 1`,
		tid, op).Scan(&key)
	if err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	return staleError("%s of missing key %s %q", what, name, key)
}

func (a *pgApplier) insertLinks(name string, aid int64) error {
	_, err := copyFrom(a, a.cs.Links(name), "idsync_links", []string{"assoc_id", "source", "target"},
		func(c idsync.LinkChange) ([]any, error) {
			if c.Op != idsync.Insert {
				return nil, nil
			}
			return []any{aid, c.Source, c.Target}, nil
		})
	if detail, ok := uniqueViolation(err); ok {
		return staleError("insert of a stored link of %s: %s", name, detail)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	return nil
}

func (a *pgApplier) deleteLinks(name string, aid int64) error {
	if err := a.tempTables(); err != nil {
		return err
	}
	n, err := copyFrom(a, a.cs.Links(name), "idsync_apply_links", []string{"source", "target"},
		func(c idsync.LinkChange) ([]any, error) {
			if c.Op != idsync.Delete {
				return nil, nil
			}
			return []any{c.Source, c.Target}, nil
		})
	if err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	if _, err := a.tx.Exec(a.ctx, "ANALYZE idsync_apply_links"); err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	ok, err := a.execCounted(n, `DELETE FROM idsync_links l USING idsync_apply_links t
		WHERE l.assoc_id = $1 AND l.source = t.source AND l.target = t.target`, aid)
	if err != nil {
		return fmt.Errorf("sqlstore: apply %s: %w", name, err)
	}
	if !ok {
		var source, target string
		err := a.tx.QueryRow(a.ctx, `SELECT t.source, t.target FROM idsync_apply_links t WHERE NOT EXISTS
			(SELECT FROM idsync_links l WHERE l.assoc_id = $1 AND l.source = t.source AND l.target = t.target)
			ORDER BY t.source, t.target LIMIT 1`, aid).Scan(&source, &target)
		if err != nil {
			return fmt.Errorf("sqlstore: apply %s: %w", name, err)
		}
		return staleError("delete of missing link %s %q → %q", name, source, target)
	}
	return nil
}
