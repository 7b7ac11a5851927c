package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyWait is how long opening a SQLite database waits for another
// process that holds it, like the connections' busy timeout.
const busyWait = 30 * time.Second

func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// retryBusy runs f until it does not fail with SQLITE_BUSY, for at most
// busyWait: SQLite returns SQLITE_BUSY at once, without calling the busy
// handler, where waiting could deadlock (turning on the write-ahead log
// while another process does, for example), and a retry after the other
// one is done succeeds.
func retryBusy(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(busyWait)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := f()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// setWAL turns on the write-ahead log of a SQLite database, once for all
// its connections (the mode is kept in the file).
func setWAL(ctx context.Context, db *sql.DB) error {
	return retryBusy(ctx, func() error {
		var mode string
		return db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
	})
}

// sqliteMigrator runs the migrations of a SQLite database on a connection
// of its own, in a BEGIN IMMEDIATE transaction: it takes the write lock
// before it reads the schema version again, so that of several processes
// opening a fresh database at once, one migrates and the others wait for
// it (with a busy timeout set first, whatever the host's *sql.DB has), then
// find the schema up to date.
type sqliteMigrator struct{ conn *sql.Conn }

func beginSQLiteMigration(ctx context.Context, db *sql.DB) (*sqliteMigrator, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var timeout int
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
		conn.Close()
		return nil, err
	}
	if timeout == 0 {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyWait.Milliseconds())); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if err := retryBusy(ctx, func() error { _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); return err }); err != nil {
		conn.Close()
		return nil, err
	}
	return &sqliteMigrator{conn}, nil
}

func (m *sqliteMigrator) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return m.conn.ExecContext(ctx, query, args...)
}

func (m *sqliteMigrator) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return m.conn.QueryRowContext(ctx, query, args...)
}

func (m *sqliteMigrator) Commit() error {
	_, err := m.conn.ExecContext(context.Background(), "COMMIT")
	if err != nil {
		m.conn.ExecContext(context.Background(), "ROLLBACK")
	}
	m.conn.Close()
	m.conn = nil
	return err
}

// Rollback ends the transaction if Commit did not; it is a no-op after
// Commit, like sql.Tx's.
func (m *sqliteMigrator) Rollback() error {
	if m.conn == nil {
		return nil
	}
	m.conn.ExecContext(context.Background(), "ROLLBACK")
	err := m.conn.Close()
	m.conn = nil
	return err
}
