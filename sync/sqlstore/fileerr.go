package sqlstore

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileError is a SQLite error about the database file itself (it cannot
// be opened, is read-only, or the disk is full): it names the file and the
// likely cause, which SQLite's message does not. It unwraps to the
// driver's error.
type FileError struct {
	// Path is the database file.
	Path string
	// Cause is the likely cause, in words: "the path is a directory".
	Cause string
	// Err is the driver's error.
	Err error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("sqlstore: SQLite database %s: %s (%v)", e.Path, e.Cause, e.Err)
}

// Unwrap returns the driver's error.
func (e *FileError) Unwrap() error { return e.Err }

// fileError returns err as a *FileError if it is a SQLite error about the
// database file at path, else err.
func fileError(path string, err error) error {
	var se *sqlite.Error
	var fe *FileError
	if path == "" || !errors.As(err, &se) || errors.As(err, &fe) {
		return err
	}
	var cause string
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CANTOPEN:
		cause = cantOpenCause(path)
	case sqlite3.SQLITE_READONLY:
		cause = readOnlyCause(path)
	case sqlite3.SQLITE_FULL:
		cause = "the disk (or the quota) holding it is full: free some space"
	default:
		return err
	}
	return &FileError{Path: path, Cause: cause, Err: err}
}

// cantOpenCause guesses why SQLite cannot open the file at path.
func cantOpenCause(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return "the path is a directory, not a database file"
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("its folder %s does not exist", dir)
	case errors.Is(err, syscallENOTDIR) || err == nil && !fi.IsDir():
		return fmt.Sprintf("its folder %s is not a folder (a file is in the way)", dir)
	case err != nil:
		return fmt.Sprintf("its folder %s cannot be read: %v", dir, err)
	case !writable(dir):
		return fmt.Sprintf("its folder %s is not writable (SQLite creates the file there, and its -wal and -shm files next to it)", dir)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrPermission) {
		return "it cannot be read: permission denied"
	}
	return "it cannot be opened or created (check the permissions of the file and its folder)"
}

// readOnlyCause guesses why SQLite cannot write the file at path.
func readOnlyCause(path string) string {
	dir := filepath.Dir(path)
	switch {
	case !writable(path):
		return "the file is read-only: make it writable for this user"
	case !writable(dir):
		return fmt.Sprintf("its folder %s is read-only (SQLite writes -wal and -shm files next to the database)", dir)
	}
	return "it was opened read-only (mode=ro in the URL?), or the file system is mounted read-only"
}

// sqliteFile returns the file that a SQLite data source name opens, or ""
// for one without a file.
func sqliteFile(dsn string) string {
	p, _, _ := strings.Cut(dsn, "?")
	if rest, ok := strings.CutPrefix(p, "file:"); ok {
		p = strings.TrimPrefix(rest, "//")
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// openError is the error of opening the store at rawURL.
func openError(rawURL string, err error) error {
	if d, dsn, perr := parseURL(rawURL); perr == nil && d == SQLite {
		if fe := fileError(sqliteFile(dsn), err); fe != err {
			return fe
		}
	}
	return fmt.Errorf("sqlstore: open %s: %w", redact(rawURL), err)
}
