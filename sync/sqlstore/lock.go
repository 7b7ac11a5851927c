package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	gosync "sync"

	"github.com/idsync/idsync/internal/flock"
	idsync "github.com/idsync/idsync/sync"
)

// Lock implements idsync.Locker: it takes the connector's lock without
// waiting, or returns an error matching idsync.ErrBusy.
//
// On PostgreSQL the lock is a session advisory lock
// (pg_try_advisory_lock), keyed by a hash of the schema and the connector
// name, held on a connection set aside from the pool until unlock: it
// excludes every process using the database, and dies with the session if
// the process does.
//
// On SQLite the lock is an flock(2) on a file per connector in the
// directory "<database file>-locks", next to the database: it excludes
// every process on the machine, and is released by the kernel if the
// process dies. It does not work across machines sharing the file over a
// network file system (neither does SQLite's own locking, reliably). On
// systems without flock, and for a database without a file, the lock
// excludes runs within this process only.
func (s *Store) Lock(ctx context.Context, connector string) (func(), error) {
	if s.dialect == Postgres {
		return s.lockPostgres(ctx, connector)
	}
	s.mu.Lock()
	if s.locks[connector] {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", idsync.ErrBusy, connector)
	}
	s.locks[connector] = true
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		delete(s.locks, connector)
		s.mu.Unlock()
	}
	unlockFile := func() {}
	if s.path != "" {
		var err error
		if unlockFile, err = lockFile(s.path+"-locks", connector); err != nil {
			release()
			return nil, err
		}
	}
	var once gosync.Once
	return func() { once.Do(func() { unlockFile(); release() }) }, nil
}

// lockKey is the advisory lock key of a connector in a schema.
func lockKey(schema, connector string) int64 {
	h := sha256.Sum256([]byte("idsync\x00" + schema + "\x00" + connector))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

func (s *Store) lockPostgres(ctx context.Context, connector string) (func(), error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock %s: %w", connector, err)
	}
	key := lockKey(s.schema, connector)
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sqlstore: lock %s: %w", connector, err)
	}
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("%w: %s (its advisory lock is held by another session)", idsync.ErrBusy, connector)
	}
	var once gosync.Once
	return func() {
		once.Do(func() {
			var released bool
			err := conn.QueryRowContext(context.Background(), "SELECT pg_advisory_unlock($1)", key).Scan(&released)
			if err != nil || !released {
				// End the session rather than return it to the pool
				// still holding the lock.
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, nil
}

// lockFile takes the exclusive lock of the connector's file in dir (see
// package internal/flock), without waiting.
func lockFile(dir, connector string) (func(), error) {
	h := sha256.Sum256([]byte(connector))
	unlock, err := flock.TryLock(filepath.Join(dir, hex.EncodeToString(h[:12])+".lock"), connector)
	if errors.Is(err, flock.ErrLocked) {
		return nil, fmt.Errorf("%w: %s (locked by another process: %v)", idsync.ErrBusy, connector, err)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock %s: %w", connector, err)
	}
	return unlock, nil
}
