//go:build unix

package sqlstore

import "syscall"

var syscallENOTDIR error = syscall.ENOTDIR

// writable reports whether this process may write path (access(2), which
// knows about root and read-only mounts).
func writable(path string) bool { return syscall.Access(path, 2) == nil }
