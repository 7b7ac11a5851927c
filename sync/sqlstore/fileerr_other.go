//go:build !unix

package sqlstore

import (
	"errors"
	"os"
)

var syscallENOTDIR = errors.New("not a directory")

// writable reports whether path may be written: without access(2), by its
// permission bits.
func writable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Perm()&0o200 != 0
}
