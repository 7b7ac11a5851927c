//go:build !unix

package sqlstore

// lockFile is a no-op where flock is not available: the lock is the
// in-process one only.
func lockFile(dir, connector string) (func(), error) { return func() {}, nil }
