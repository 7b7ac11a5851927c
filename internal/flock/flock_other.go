//go:build !unix

package flock

import (
	"fmt"
	"os"
	"path/filepath"
	gosync "sync"
)

// Where flock(2) is missing, locks exclude holders within this process
// only, by absolute path.
var held = struct {
	gosync.Mutex
	cond  *gosync.Cond
	paths map[string]bool
}{paths: map[string]bool{}}

func init() { held.cond = gosync.NewCond(&held.Mutex) }

func lockFile(f *os.File, wait bool) error {
	p, _ := filepath.Abs(f.Name())
	held.Lock()
	defer held.Unlock()
	for held.paths[p] {
		if !wait {
			return fmt.Errorf("%w: %s", ErrLocked, f.Name())
		}
		held.cond.Wait()
	}
	held.paths[p] = true
	return nil
}

func unlockFile(f *os.File) {
	p, _ := filepath.Abs(f.Name())
	held.Lock()
	delete(held.paths, p)
	held.Unlock()
	held.cond.Broadcast()
}
