//go:build unix

package sqlstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	idsync "github.com/idsync/idsync/sync"
)

// lockFile takes an exclusive flock on the connector's file in dir, without
// waiting.
func lockFile(dir, connector string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sqlstore: lock %s: %w", connector, err)
	}
	h := sha256.Sum256([]byte(connector))
	name := filepath.Join(dir, hex.EncodeToString(h[:12])+".lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock %s: %w", connector, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (locked by another process: %s)", idsync.ErrBusy, connector, name)
		}
		return nil, fmt.Errorf("sqlstore: lock %s: %w", connector, err)
	}
	// For a person wondering who holds it.
	f.Truncate(0)
	fmt.Fprintf(f, "%s\npid %d\n", connector, os.Getpid())
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
