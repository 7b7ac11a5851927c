package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	idsync "github.com/idsync/idsync/sync"
)

// The Store keeps the engine's state (idsync.StateStore) in two tables of
// its database: idsync_runs, one row per run record (the record as JSON,
// with its connector, state and start time in columns of their own), and
// idsync_connector_state, one JSON object per connector. ApplyRun writes
// both in the transaction of the changes, so that a run's success and its
// changes commit together.

var _ idsync.StateStore = (*Store)(nil)

// startedText is a run's start time as stored: fixed-width UTC text, whose
// order is the order of time.
func startedText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// SaveRun implements idsync.StateKeeper.
func (s *Store) SaveRun(ctx context.Context, r *idsync.Run) error {
	return s.saveRun(ctx, sqlDB{s.db}, r)
}

func (s *Store) saveRun(ctx context.Context, x execer, r *idsync.Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("sqlstore: save run %s: %w", r.ID, err)
	}
	_, err = x.exec(ctx, s.q(`INSERT INTO idsync_runs (id, connector, state, started, data) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET connector = excluded.connector, state = excluded.state, started = excluded.started, data = excluded.data`),
		r.ID, r.Connector, string(r.State), startedText(r.Started), string(b))
	if err != nil {
		return fileError(s.path, fmt.Errorf("sqlstore: save run %s: %w", r.ID, err))
	}
	return nil
}

// LoadRun implements idsync.StateKeeper.
func (s *Store) LoadRun(ctx context.Context, id string) (*idsync.Run, error) {
	var data string
	err := s.db.QueryRowContext(ctx, s.q("SELECT data FROM idsync_runs WHERE id = ?"), id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %w: %s (in the store %s)", idsync.ErrNotFound, id, s.name())
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load run %s: %w", id, err)
	}
	return decodeRun(id, data)
}

func decodeRun(id, data string) (*idsync.Run, error) {
	r := &idsync.Run{}
	if err := json.Unmarshal([]byte(data), r); err != nil {
		return nil, fmt.Errorf("sqlstore: run %s: %w", id, err)
	}
	return r, nil
}

// Runs implements idsync.StateKeeper: newest first, by start time then ID.
func (s *Store) Runs(ctx context.Context, q idsync.RunQuery) ([]*idsync.Run, error) {
	var where []string
	var args []any
	if q.Connector != "" {
		where, args = append(where, "connector = ?"), append(args, q.Connector)
	}
	if len(q.States) > 0 {
		where = append(where, "state IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.States)), ", ")+")")
		for _, st := range q.States {
			args = append(args, string(st))
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "started >= ?"), append(args, startedText(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "started < ?"), append(args, startedText(q.Until))
	}
	if q.Before != "" {
		where = append(where, "(started < (SELECT started FROM idsync_runs WHERE id = ?) OR (started = (SELECT started FROM idsync_runs WHERE id = ?) AND id < ?))")
		args = append(args, q.Before, q.Before, q.Before)
	}
	query := "SELECT id, data FROM idsync_runs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY started DESC, id DESC"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: runs: %w", err)
	}
	defer rows.Close()
	var out []*idsync.Run
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("sqlstore: runs: %w", err)
		}
		r, err := decodeRun(id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: runs: %w", err)
	}
	return out, nil
}

// DeleteRun implements idsync.StateKeeper.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM idsync_runs WHERE id = ?"), id); err != nil {
		return fileError(s.path, fmt.Errorf("sqlstore: delete run %s: %w", id, err))
	}
	return nil
}

// ConnectorState implements idsync.StateKeeper.
func (s *Store) ConnectorState(ctx context.Context, name string) (idsync.ConnectorState, error) {
	return s.connectorState(ctx, sqlDB{s.db}, name, "")
}

// connectorState reads a connector's state; lock is appended to the
// query (" FOR UPDATE" on PostgreSQL within a transaction).
func (s *Store) connectorState(ctx context.Context, x execer, name, lock string) (idsync.ConnectorState, error) {
	var st idsync.ConnectorState
	var data string
	err := x.queryRow(ctx, s.q("SELECT data FROM idsync_connector_state WHERE name = ?"+lock), name).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("sqlstore: state of %s: %w", name, err)
	}
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return st, fmt.Errorf("sqlstore: state of %s: %w", name, err)
	}
	return st, nil
}

// UpdateConnectorState implements idsync.StateKeeper, in a transaction
// that takes the row's lock before it reads it.
func (s *Store) UpdateConnectorState(ctx context.Context, name string, change func(*idsync.ConnectorState)) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fileError(s.path, fmt.Errorf("sqlstore: state of %s: %w", name, err))
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := s.changeState(ctx, sqlTx{tx}, name, change); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fileError(s.path, fmt.Errorf("sqlstore: state of %s: %w", name, err))
	}
	return nil
}

// changeState changes a connector's state within the transaction x: a
// first write takes the lock (SQLite's database lock, PostgreSQL's row
// lock), so that no other change is lost.
func (s *Store) changeState(ctx context.Context, x execer, name string, change func(*idsync.ConnectorState)) error {
	if _, err := x.exec(ctx, s.q("INSERT INTO idsync_connector_state (name, data) VALUES (?, '{}') ON CONFLICT (name) DO NOTHING"), name); err != nil {
		return fileError(s.path, fmt.Errorf("sqlstore: state of %s: %w", name, err))
	}
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	st, err := s.connectorState(ctx, x, name, lock)
	if err != nil {
		return err
	}
	change(&st)
	b, _ := json.Marshal(st)
	if _, err := x.exec(ctx, s.q("UPDATE idsync_connector_state SET data = ? WHERE name = ?"), string(b), name); err != nil {
		return fileError(s.path, fmt.Errorf("sqlstore: state of %s: %w", name, err))
	}
	return nil
}

// commit writes a run's success in the transaction x of its changes.
func (s *Store) commit(ctx context.Context, x execer, c *idsync.Commit) error {
	var version int64
	if err := x.queryRow(ctx, s.q("SELECT version FROM idsync_connectors WHERE name = ?"), c.Connector()).Scan(&version); err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	fp := s.fingerprint(version)
	for _, r := range c.Runs {
		if err := s.saveRun(ctx, x, r); err != nil {
			return err
		}
	}
	return s.changeState(ctx, x, c.Connector(), func(st *idsync.ConnectorState) { c.State(st, fp) })
}

// sqlDB runs statements on the database outside any transaction.
type sqlDB struct{ db *sql.DB }

func (d sqlDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (d sqlDB) queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	return d.db.QueryRowContext(ctx, query, args...)
}

// name names the store in messages: its file, or its PostgreSQL schema.
func (s *Store) name() string {
	if s.dialect == Postgres {
		return "PostgreSQL schema " + s.schema
	}
	if s.path == "" {
		return "SQLite in memory"
	}
	return s.path
}
