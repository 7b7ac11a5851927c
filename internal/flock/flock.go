// Package flock holds exclusive locks on files across processes: flock(2)
// where the system has it. A lock is released by Unlock, or by the kernel
// when the process dies, so a crashed run never leaves a lock behind.
// Two opens of one file in one process exclude each other too.
package flock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("flock: locked by another holder")

// TryLock takes the exclusive lock of the file at path, creating it and
// its folder if needed, without waiting: it returns an error matching
// ErrLocked if the lock is held. note is written into the file for a
// person wondering who holds it.
func TryLock(path, note string) (unlock func(), err error) {
	return lock(path, note, false)
}

// Lock is TryLock that waits for the lock.
func Lock(path, note string) (unlock func(), err error) {
	return lock(path, note, true)
}

func lock(path, note string, wait bool) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("flock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("flock: %w", err)
	}
	if err := lockFile(f, wait); err != nil {
		f.Close()
		return nil, err
	}
	if note != "" {
		f.Truncate(0)
		fmt.Fprintf(f, "%s\npid %d\n", note, os.Getpid())
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}
