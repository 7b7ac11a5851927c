package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	idsync "github.com/idsync/idsync/sync"
)

// Apply implements idsync.Store. It applies the whole change set in one
// transaction, which begins by comparing and bumping the connector's
// fingerprint: a stale plan fails before anything is written. Resources
// and links are written in batches: multi-row statements prepared once per
// transaction on SQLite, COPY and set-based statements on PostgreSQL. An
// insert of a stored key, an update or a delete of a missing key, or a
// link inserted twice or deleted while missing fail with an error
// matching idsync.ErrStalePlan. Any error, a cancelled ctx or a crash
// leaves the store as it was.
func (s *Store) Apply(ctx context.Context, cs *idsync.ChangeSet) error {
	if s.dialect == Postgres {
		return s.applyPostgres(ctx, cs)
	}
	return s.applySQLite(ctx, cs)
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
	planned, err := strconv.ParseInt(cs.Fingerprint(), 10, 64)
	if err != nil {
		return nil, nil, staleError("fingerprint %q was not made by this store", cs.Fingerprint())
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
		return nil, nil, staleError("%s has fingerprint %d, the change set was planned against %s", cs.Connector(), cur, cs.Fingerprint())
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
					src, tgt = ma.Source.EntityType, ma.Target.EntityType
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

// sqliteBatch is the number of rows per multi-row statement on SQLite.
const sqliteBatch = 500

func (s *Store) applySQLite(ctx context.Context, cs *idsync.ChangeSet) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
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
	a := &sqliteApplier{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{},
		count: &writeCounter{ctx: ctx, failAfter: s.opts.FailAfter}}
	for _, e := range cs.EntityTypes() {
		if e.Inserted+e.Updated+e.Deleted == 0 {
			continue
		}
		if err := a.resources(cs, e.Name, types[e.Name]); err != nil {
			return err
		}
	}
	for _, as := range cs.Associations() {
		if as.Inserted+as.Deleted == 0 {
			continue
		}
		if err := a.links(cs, as.Name, assocs[as.Name]); err != nil {
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

type sqliteApplier struct {
	ctx   context.Context
	tx    *sql.Tx
	count *writeCounter
	enc   propsEncoder
	stmts map[string]*sql.Stmt // prepared in tx, by query
}

// exec runs a statement, prepared once per transaction, and returns the
// number of rows it changed.
func (a *sqliteApplier) exec(query string, args []any) (int64, error) {
	st, ok := a.stmts[query]
	if !ok {
		var err error
		if st, err = a.tx.PrepareContext(a.ctx, query); err != nil {
			return 0, err
		}
		a.stmts[query] = st
	}
	res, err := st.ExecContext(a.ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// rowsSQL writes a multi-row statement: head, then n groups of width
// numbered parameters from ?2 (?1 is the entity type or association),
// each group written open ... close, separated by ", ", then tail.
func rowsSQL(head string, n, width int, open, close, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	p := 2
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(open)
		for j := range width {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?" + strconv.Itoa(p))
			p++
		}
		b.WriteString(close)
	}
	b.WriteString(tail)
	return b.String()
}

func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

func (a *sqliteApplier) resources(cs *idsync.ChangeSet, name string, tid int64) error {
	ins := make([]any, 1, 1+2*sqliteBatch)
	del := make([]any, 1, 1+sqliteBatch)
	ins[0], del[0] = tid, tid
	flushIns := func() error {
		n := (len(ins) - 1) / 2
		if n == 0 {
			return nil
		}
		_, err := a.exec(rowsSQL("INSERT INTO idsync_resources (type_id, key, props) VALUES ", n, 2, "(?1, ", ")", ""), ins)
		if isConstraint(err) {
			return a.insertConflict(name, tid, ins)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: apply %s: %w", name, err)
		}
		ins = ins[:1]
		return nil
	}
	flushDel := func() error {
		n := len(del) - 1
		if n == 0 {
			return nil
		}
		got, err := a.exec(rowsSQL("DELETE FROM idsync_resources WHERE type_id = ?1 AND key IN (", n, 1, "", "", ")"), del)
		if err != nil {
			return fmt.Errorf("sqlstore: apply %s: %w", name, err)
		}
		if got != int64(n) {
			return staleError("delete of %d keys of %s not stored, among the %d from %q to %q", int64(n)-got, name, n, del[1], del[n])
		}
		del = del[:1]
		return nil
	}
	for c, err := range cs.Resources(name) {
		if err != nil {
			return err
		}
		if err := a.count.add(); err != nil {
			return err
		}
		a.enc.reset()
		switch c.Op {
		case idsync.Insert:
			for _, p := range c.Props {
				if p.New != "" {
					a.enc.add(p.Name, p.New)
				}
			}
			props, err := a.enc.finish()
			if err != nil {
				return fmt.Errorf("sqlstore: insert %s %q: %w", name, c.Key, err)
			}
			if ins = append(ins, c.Key, props); len(ins) == cap(ins) {
				if err := flushIns(); err != nil {
					return err
				}
			}
		case idsync.Update:
			for _, p := range c.Props {
				if p.New == "" {
					a.enc.addNull(p.Name)
				} else {
					a.enc.add(p.Name, p.New)
				}
			}
			patch, err := a.enc.finish()
			if err != nil {
				return fmt.Errorf("sqlstore: update %s %q: %w", name, c.Key, err)
			}
			n, err := a.exec("UPDATE idsync_resources SET props = json_patch(props, ?3) WHERE type_id = ?1 AND key = ?2", []any{tid, c.Key, patch})
			if err != nil {
				return fmt.Errorf("sqlstore: update %s %q: %w", name, c.Key, err)
			}
			if n != 1 {
				return staleError("update of missing key %s %q", name, c.Key)
			}
		case idsync.Delete:
			if del = append(del, c.Key); len(del) == cap(del) {
				if err := flushDel(); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("sqlstore: apply %s %q: unknown operation %v", name, c.Key, c.Op)
		}
	}
	if err := flushIns(); err != nil {
		return err
	}
	return flushDel()
}

// insertConflict names a key of a failed insert batch that is stored.
func (a *sqliteApplier) insertConflict(name string, tid int64, args []any) error {
	for i := 1; i < len(args); i += 2 {
		var one int
		err := a.tx.QueryRowContext(a.ctx, "SELECT 1 FROM idsync_resources WHERE type_id = ? AND key = ?", tid, args[i]).Scan(&one)
		if err == nil {
			return staleError("insert of stored key %s %q", name, args[i])
		}
	}
	return staleError("insert of a stored key of %s, among %q to %q", name, args[1], args[len(args)-2])
}

func (a *sqliteApplier) links(cs *idsync.ChangeSet, name string, aid int64) error {
	ins := make([]any, 1, 1+2*sqliteBatch)
	del := make([]any, 1, 1+2*sqliteBatch)
	ins[0], del[0] = aid, aid
	flushIns := func() error {
		n := (len(ins) - 1) / 2
		if n == 0 {
			return nil
		}
		_, err := a.exec(rowsSQL("INSERT INTO idsync_links (assoc_id, source, target) VALUES ", n, 2, "(?1, ", ")", ""), ins)
		if isConstraint(err) {
			for i := 1; i < len(ins); i += 2 {
				var one int
				if a.tx.QueryRowContext(a.ctx, "SELECT 1 FROM idsync_links WHERE assoc_id = ? AND source = ? AND target = ?", aid, ins[i], ins[i+1]).Scan(&one) == nil {
					return staleError("insert of stored link %s %q → %q", name, ins[i], ins[i+1])
				}
			}
			return staleError("insert of a stored link of %s", name)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: apply %s: %w", name, err)
		}
		ins = ins[:1]
		return nil
	}
	flushDel := func() error {
		n := (len(del) - 1) / 2
		if n == 0 {
			return nil
		}
		got, err := a.exec(rowsSQL("DELETE FROM idsync_links WHERE assoc_id = ?1 AND (source, target) IN (VALUES ", n, 2, "(", ")", ")"), del)
		if err != nil {
			return fmt.Errorf("sqlstore: apply %s: %w", name, err)
		}
		if got != int64(n) {
			return staleError("delete of %d links of %s not stored, among the %d from %q → %q to %q → %q",
				int64(n)-got, name, n, del[1], del[2], del[len(del)-2], del[len(del)-1])
		}
		del = del[:1]
		return nil
	}
	for c, err := range cs.Links(name) {
		if err != nil {
			return err
		}
		if err := a.count.add(); err != nil {
			return err
		}
		switch c.Op {
		case idsync.Insert:
			if ins = append(ins, c.Source, c.Target); len(ins) == cap(ins) {
				if err := flushIns(); err != nil {
					return err
				}
			}
		case idsync.Delete:
			if del = append(del, c.Source, c.Target); len(del) == cap(del) {
				if err := flushDel(); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("sqlstore: apply %s: unknown operation %v", name, c.Op)
		}
	}
	if err := flushIns(); err != nil {
		return err
	}
	return flushDel()
}
