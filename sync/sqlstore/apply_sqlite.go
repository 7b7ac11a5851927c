package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	idsync "github.com/idsync/idsync/sync"
)

// sqliteBatch is the number of rows per multi-row statement on SQLite.
const sqliteBatch = 500

// A batch is up to sqliteBatch changes of one kind, written by one
// statement (updates: one statement per row).
type batch struct {
	kind batchKind
	name string // entity type or association
	n    int    // changes
	args []any
}

type batchKind int

const (
	insertResources batchKind = iota // args: (type, key, props)...
	updateResources                  // args: (patch, type, key)...
	deleteResources                  // args: type, key...
	insertLinks                      // args: (association, source, target)...
	deleteLinks                      // args: association, (source, target)...
)

// applySQLite applies in one transaction, in two goroutines: one reads the
// change set and encodes it into batches of statement arguments while the
// other writes them, with multi-row statements prepared once per
// transaction.
func (s *Store) applySQLite(ctx context.Context, cs *idsync.ChangeSet, c *idsync.Commit) (err error) {
	// The transaction's own context is never cancelled: a cancellation
	// interrupting COMMIT could report an error for a transaction that
	// committed. The statements watch ctx; once they are done, a last
	// look at ctx decides between rollback and commit.
	tx, err := s.db.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = canceled(ctx, err)
		}
	}()
	types, assocs, err := s.begin(ctx, sqlTx{tx}, cs)
	if err != nil {
		return err
	}
	if err := dropReverseIndex(ctx, tx, cs); err != nil {
		return err
	}

	rctx, stop := context.WithCancel(ctx)
	defer stop()
	batches := make(chan batch, 8)
	var readErr error
	go func() {
		defer close(batches)
		readErr = readBatches(rctx, cs, types, assocs, int(s.failAfter.Load()), batches)
	}()
	w := &sqliteWriter{ctx: ctx, db: s.db, tx: tx, stmts: map[string]*sql.Stmt{}, sql: map[[2]int]string{}}
	for b := range batches {
		if err = w.write(b); err != nil {
			stop()
			for range batches { // let the reader finish
			}
			return err
		}
	}
	if readErr != nil {
		return readErr
	}
	if c != nil {
		if err := s.commit(ctx, sqlTx{tx}, c); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: apply: commit: %w", err)
	}
	return nil
}

// bulkLinks is the number of link inserts from which an Apply on SQLite
// drops the reverse index of links, (assoc_id, target, source), if they
// outnumber the links already stored: an initial load, typically.
// Maintaining that index row by row costs more than inserting the links
// themselves; LinksTo builds it again, in one pass, when it is first
// needed.
const bulkLinks = 100_000

const reverseIndex = "idsync_links_by_target"

func dropReverseIndex(ctx context.Context, tx *sql.Tx, cs *idsync.ChangeSet) error {
	var inserts int64
	for _, a := range cs.Associations() {
		inserts += a.Inserted
	}
	if inserts < bulkLinks {
		return nil
	}
	var stored int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM idsync_links LIMIT ?)", inserts).Scan(&stored); err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	if stored >= inserts {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DROP INDEX IF EXISTS "+reverseIndex); err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	return nil
}

// buildReverseIndex builds the reverse index of links if an Apply dropped
// it. It is best effort: queries are right without the index, only
// slower.
func (s *Store) buildReverseIndex(ctx context.Context) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", reverseIndex).Scan(&n)
	if err == nil && n == 0 {
		s.db.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS "+reverseIndex+" ON idsync_links (assoc_id, target, source)")
	}
}

// batcher fills batches of one kind and sends them when full.
type batcher struct {
	b    batch
	head []any // the arguments every batch begins with
	send func(batch) error
}

func newBatcher(kind batchKind, name string, width int, send func(batch) error, head ...any) *batcher {
	bt := &batcher{head: head, send: send, b: batch{kind: kind, name: name}}
	bt.b.args = append(make([]any, 0, len(head)+width*sqliteBatch), head...)
	return bt
}

func (bt *batcher) add(args ...any) error {
	bt.b.args = append(bt.b.args, args...)
	if bt.b.n++; bt.b.n == sqliteBatch {
		return bt.flush()
	}
	return nil
}

func (bt *batcher) flush() error {
	if bt.b.n == 0 {
		return nil
	}
	b := bt.b
	bt.b.n = 0
	bt.b.args = append(make([]any, 0, cap(b.args)), bt.head...)
	return bt.send(b)
}

// readBatches reads the change set and sends its changes as batches.
func readBatches(ctx context.Context, cs *idsync.ChangeSet, types, assocs map[string]int64, failAfter int, out chan<- batch) error {
	count := &writeCounter{ctx: ctx, failAfter: failAfter}
	send := func(b batch) error {
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var enc propsEncoder
	for _, e := range cs.EntityTypes() {
		if e.Inserted+e.Updated+e.Deleted == 0 {
			continue
		}
		id := types[e.Name]
		ins := newBatcher(insertResources, e.Name, 3, send)
		upd := newBatcher(updateResources, e.Name, 3, send)
		del := newBatcher(deleteResources, e.Name, 1, send, id)
		for c, err := range cs.Resources(e.Name) {
			if err != nil {
				return err
			}
			if err := count.add(); err != nil {
				return err
			}
			if err := readResource(&enc, c, id, e.Name, ins, upd, del); err != nil {
				return err
			}
		}
		for _, bt := range []*batcher{ins, upd, del} {
			if err := bt.flush(); err != nil {
				return err
			}
		}
	}
	for _, a := range cs.Associations() {
		if a.Inserted+a.Deleted == 0 {
			continue
		}
		id := assocs[a.Name]
		ins := newBatcher(insertLinks, a.Name, 3, send)
		del := newBatcher(deleteLinks, a.Name, 2, send, id)
		for c, err := range cs.Links(a.Name) {
			if err != nil {
				return err
			}
			if err := count.add(); err != nil {
				return err
			}
			switch c.Op {
			case idsync.Insert:
				err = ins.add(id, c.Source, c.Target)
			case idsync.Delete:
				err = del.add(c.Source, c.Target)
			default:
				err = fmt.Errorf("sqlstore: apply %s: unknown operation %v", a.Name, c.Op)
			}
			if err != nil {
				return err
			}
		}
		for _, bt := range []*batcher{ins, del} {
			if err := bt.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readResource encodes a change of a resource into its batch.
func readResource(enc *propsEncoder, c idsync.ResourceChange, id int64, name string, ins, upd, del *batcher) error {
	enc.reset()
	switch c.Op {
	case idsync.Insert:
		for _, p := range c.Props {
			if p.New != "" {
				enc.add(p.Name, p.New)
			}
		}
		props, err := enc.finish()
		if err != nil {
			return fmt.Errorf("sqlstore: insert %s %q: %w", name, c.Key, err)
		}
		return ins.add(id, c.Key, props)
	case idsync.Update:
		for _, p := range c.Props {
			if p.New == "" {
				enc.addNull(p.Name)
			} else {
				enc.add(p.Name, p.New)
			}
		}
		patch, err := enc.finish()
		if err != nil {
			return fmt.Errorf("sqlstore: update %s %q: %w", name, c.Key, err)
		}
		return upd.add(patch, id, c.Key)
	case idsync.Delete:
		return del.add(c.Key)
	}
	return fmt.Errorf("sqlstore: apply %s %q: unknown operation %v", name, c.Key, c.Op)
}

// sqliteWriter writes batches in a transaction.
type sqliteWriter struct {
	ctx   context.Context
	db    *sql.DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // prepared in tx, by query
	sql   map[[2]int]string    // queries by kind and rows
}

// query returns the statement of a batch kind for n rows. Parameters are
// anonymous (?): the driver looks up the name of each numbered one (?NNN)
// in a list, which makes binding quadratic in the number of parameters.
// Inserts are INSERT OR ROLLBACK: a conflict rolls back the whole
// transaction, which spares SQLite a statement journal.
func (w *sqliteWriter) query(kind batchKind, n int) string {
	if q, ok := w.sql[[2]int{int(kind), n}]; ok {
		return q
	}
	var head, row, tail string
	switch kind {
	case insertResources:
		head, row = "INSERT OR ROLLBACK INTO idsync_resources (type_id, key, props) VALUES ", "(?, ?, ?)"
	case updateResources:
		head = "UPDATE idsync_resources SET props = json_patch(props, ?) WHERE type_id = ? AND key = ?"
	case deleteResources:
		head, row, tail = "DELETE FROM idsync_resources WHERE type_id = ? AND key IN (", "?", ") RETURNING key"
	case insertLinks:
		head, row = "INSERT OR ROLLBACK INTO idsync_links (assoc_id, source, target) VALUES ", "(?, ?, ?)"
	case deleteLinks:
		head, row, tail = "DELETE FROM idsync_links WHERE assoc_id = ? AND (source, target) IN (VALUES ", "(?, ?)", ") RETURNING source, target"
	}
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		if row == "" {
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	q := b.String()
	w.sql[[2]int{int(kind), n}] = q
	return q
}

func (w *sqliteWriter) stmt(query string) (*sql.Stmt, error) {
	st, ok := w.stmts[query]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(w.ctx, query); err != nil {
			return nil, err
		}
		w.stmts[query] = st
	}
	return st, nil
}

func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

func (w *sqliteWriter) write(b batch) error {
	err := w.writeBatch(b)
	if err != nil && !errors.Is(err, idsync.ErrStalePlan) {
		err = fmt.Errorf("sqlstore: apply %s: %w", b.name, err)
	}
	return err
}

func (w *sqliteWriter) writeBatch(b batch) error {
	if b.kind == updateResources {
		st, err := w.stmt(w.query(b.kind, 1))
		if err != nil {
			return err
		}
		for i := 0; i < len(b.args); i += 3 {
			res, err := st.ExecContext(w.ctx, b.args[i:i+3]...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return staleError("update of missing key %s %q", b.name, b.args[i+2])
			}
		}
		return nil
	}
	st, err := w.stmt(w.query(b.kind, b.n))
	if err != nil {
		return err
	}
	switch b.kind {
	case insertResources, insertLinks:
		_, err := st.ExecContext(w.ctx, b.args...)
		if isConstraint(err) {
			return w.insertConflict(b)
		}
		return err
	}
	// Deletes return what they deleted, to name what they did not find.
	rows, err := st.QueryContext(w.ctx, b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	deleted := map[string]bool{}
	for rows.Next() {
		var k, target string
		dest := []any{&k}
		if b.kind == deleteLinks {
			dest = append(dest, &target)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		deleted[k+"\x00"+target] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(deleted) == b.n {
		return nil
	}
	if b.kind == deleteResources {
		for _, k := range b.args[1:] {
			if !deleted[k.(string)+"\x00"] {
				return staleError("delete of missing key %s %q", b.name, k)
			}
		}
	} else {
		for i := 1; i < len(b.args); i += 2 {
			if !deleted[b.args[i].(string)+"\x00"+b.args[i+1].(string)] {
				return staleError("delete of missing link %s %q → %q", b.name, b.args[i], b.args[i+1])
			}
		}
	}
	return staleError("delete of %d missing rows of %s", b.n-len(deleted), b.name)
}

// insertConflict names a stored key (link) of an insert batch that
// failed. INSERT OR ROLLBACK rolled the transaction back: what is stored
// is what was committed.
func (w *sqliteWriter) insertConflict(b batch) error {
	query := "SELECT 1 FROM idsync_resources WHERE type_id = ? AND key = ?"
	what := "key"
	if b.kind == insertLinks {
		query = "SELECT 1 FROM idsync_links WHERE assoc_id = ? AND source = ? AND target = ?"
		what = "link"
	}
	for i := 0; i < len(b.args); i += 3 {
		var one int
		args := b.args[i : i+3]
		if b.kind == insertResources {
			args = args[:2]
		}
		if w.db.QueryRowContext(w.ctx, query, args...).Scan(&one) == nil {
			if b.kind == insertLinks {
				return staleError("insert of stored link %s %q → %q", b.name, b.args[i+1], b.args[i+2])
			}
			return staleError("insert of stored key %s %q", b.name, b.args[i+1])
		}
	}
	return staleError("insert of a stored %s of %s", what, b.name)
}
