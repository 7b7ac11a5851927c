package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/idsync/idsync/internal/ctxio"
)

// Artifacts stores the engine's large artifacts (change sets, prepared
// snapshots, error reports) as named objects: a local folder by default
// ([FolderArtifacts]), or any gocloud.dev/blob bucket (package
// blobartifacts), shared by several engine instances. The engine writes an
// artifact before it references it, and references it by content hash
// ([PutDir], [GetDir]): the state's pointer flip is the commit.
// artifactstest is the conformance kit every implementation runs.
//
// Keys are slash-separated paths ("snapshots/objects/ab/ab12..."): see
// [CheckArtifactKey] for the rules. Every method refuses a key that breaks
// them with an error matching [ErrInvalidArtifactKey], and touches nothing.
// A key is never both an object and the beginning, followed by "/", of
// another object's key ("a" and "a/b"): an implementation on a file system
// may refuse the second Put of such a pair with an error.
//
// An Artifacts is safe for concurrent use by multiple goroutines, and, for
// a shared folder or bucket, by multiple processes.
type Artifacts interface {
	// Put stores everything r returns, until io.EOF, as the object key,
	// replacing any object of that key. It is atomic: a reader (Get,
	// List) never sees a partial object, only the whole previous one (or
	// none) until Put returns nil, then the whole new one. A Put that
	// fails, because r returned an error, because ctx was cancelled while
	// it read r, or for any other reason, leaves the key as it was; its
	// error wraps r's error, or ctx.Err(). Put stops reading r once ctx
	// is done. Put reads r as a stream: it never holds the
	// whole object in memory (an implementation on a service that keeps
	// objects in memory, such as mem://, holds what it stores). When Put
	// returns nil, the object is durable as far as the medium allows (a
	// file is synced before it is renamed into place).
	Put(ctx context.Context, key string, r io.Reader) error

	// Get opens the object key for reading; the caller closes it. A key
	// that names no object (also one that only begins other keys, such as
	// "a" when "a/b" is stored) returns an error matching
	// [ErrArtifactNotFound]. The reader returns the whole object as it was
	// when Get opened it, or an error: a Put that replaces the object
	// meanwhile does not mix the two.
	Get(ctx context.Context, key string) (io.ReadCloser, error)

	// Delete deletes the object key. Deleting a key that names no object
	// is not an error.
	Delete(ctx context.Context, key string) error

	// List yields the key of every object whose key begins with prefix
	// (as a string: "a" yields "a/b" and "ab"; "" yields every key), each
	// exactly once, in no promised order (the folder and most buckets
	// give ascending order, but callers must not rely on it). It yields
	// the objects that were stored when List began and not deleted
	// meanwhile; objects Put or deleted during the listing may or may not
	// be yielded. It never yields a partial object of a Put in progress.
	// An error is yielded once, as the last pair. A consumer may stop
	// early.
	List(ctx context.Context, prefix string) iter.Seq2[string, error]
}

var (
	// ErrArtifactNotFound means a key names no object: Get of a missing
	// key, or GetDir of a ref whose manifest or one of whose objects is
	// missing.
	ErrArtifactNotFound = errors.New("idsync: artifact not found")
	// ErrArtifactCorrupt means an artifact's content does not match the
	// hash or size it is referenced by, or a manifest cannot be read:
	// GetDir returns it and writes no file under the final names, never
	// a partial plan.
	ErrArtifactCorrupt = errors.New("idsync: artifact corrupt")
	// ErrInvalidArtifactKey means a key breaks the rules of
	// [CheckArtifactKey].
	ErrInvalidArtifactKey = errors.New("idsync: invalid artifact key")
)

// maxArtifactKey is the longest key, in bytes: the limit of S3 and GCS.
const maxArtifactKey = 1024

// CheckArtifactKey returns nil if key is a valid artifact key, and an error
// matching [ErrInvalidArtifactKey] naming the rule it breaks otherwise. A
// key is valid UTF-8 of at most 1,024 bytes, a sequence of elements
// separated by single slashes ("a/b/c"), as [io/fs.ValidPath] says but not
// "."; it does not begin or end with a slash, and no element is empty, "."
// or ".." (so no key escapes a folder: "../x" and "/x" are refused). No
// element begins with "." (the names of temporary files), and no key holds
// a backslash or a control character (so that a key means the same file
// on every system).
func CheckArtifactKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidArtifactKey, key, why)
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > maxArtifactKey:
		return bad(fmt.Sprintf("longer than %d bytes", maxArtifactKey))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("absolute (begins with a slash)")
	case strings.ContainsRune(key, '\\'):
		return bad("holds a backslash")
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("holds a control character")
	case key == "." || !fs.ValidPath(key):
		return bad("not a slash-separated path of non-empty elements other than . and ..")
	}
	for elem := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(elem, ".") {
			return bad("an element begins with a dot (reserved for temporary files)")
		}
	}
	return nil
}

// CheckArtifactPrefix returns nil if prefix is a valid prefix for
// [Artifacts.List], and an error matching [ErrInvalidArtifactKey]
// otherwise: "", or valid UTF-8 whose part up to its last slash, if it
// has one, is a valid key ([CheckArtifactKey]): "a/b/" and "a/b/c" are
// valid, "../" and "/a" are not.
func CheckArtifactPrefix(prefix string) error {
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if err := CheckArtifactKey(prefix[:i]); err != nil {
			return fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	if !utf8.ValidString(prefix) {
		return fmt.Errorf("%w: prefix %q is not valid UTF-8", ErrInvalidArtifactKey, prefix)
	}
	return nil
}

// FolderArtifacts is the default [Artifacts]: objects are files in a
// local folder, named by their keys (key "a/b" is the file a/b of the
// folder). Put writes a temporary file (its name begins with ".") in the
// object's folder, syncs it, then renames it into place; a temporary file
// left by a process that died is ignored by Get and List. Delete removes
// the folders it leaves empty. Several processes may share the folder.
type FolderArtifacts struct {
	dir string
}

// NewFolderArtifacts returns the artifacts stored in dir, which Put
// creates when needed.
func NewFolderArtifacts(dir string) *FolderArtifacts {
	return &FolderArtifacts{dir: dir}
}

// Dir returns the folder.
func (f *FolderArtifacts) Dir() string { return f.dir }

func (f *FolderArtifacts) path(key string) (string, error) {
	if err := CheckArtifactKey(key); err != nil {
		return "", err
	}
	return filepath.Join(f.dir, filepath.FromSlash(key)), nil
}

// Put implements [Artifacts.Put].
func (f *FolderArtifacts) Put(ctx context.Context, key string, r io.Reader) (err error) {
	path, err := f.path(key)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("idsync: put artifact %s: %w", key, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	parent := filepath.Dir(path)
	var tmp *os.File
	// A concurrent Delete may remove the empty parent between MkdirAll
	// and CreateTemp: try again.
	for try := 0; ; try++ {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		tmp, err = os.CreateTemp(parent, ".tmp-*")
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || try == 10 {
			return err
		}
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, ctxio.Reader(ctx, r)); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: other keys begin with %s/", ErrInvalidArtifactKey, key)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	syncFolder(parent)
	return nil
}

// syncFolder makes a rename in dir durable, where the system allows.
func syncFolder(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Get implements [Artifacts.Get].
func (f *FolderArtifacts) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	path, err := f.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("idsync: get artifact %s: %w", key, err)
	}
	file, err := os.Open(path)
	if err != nil {
		if notFoundPath(err) {
			return nil, fmt.Errorf("%w: %s", ErrArtifactNotFound, key)
		}
		return nil, fmt.Errorf("idsync: get artifact %s: %w", key, err)
	}
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = file.Close()
		if err != nil {
			return nil, fmt.Errorf("idsync: get artifact %s: %w", key, err)
		}
		return nil, fmt.Errorf("%w: %s", ErrArtifactNotFound, key)
	}
	return file, nil
}

// notFoundPath reports whether err says a path does not exist, also
// because one of its folders is a file (ENOTDIR).
func notFoundPath(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Delete implements [Artifacts.Delete].
func (f *FolderArtifacts) Delete(ctx context.Context, key string) error {
	path, err := f.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("idsync: delete artifact %s: %w", key, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		if notFoundPath(err) {
			return nil
		}
		return fmt.Errorf("idsync: delete artifact %s: %w", key, err)
	}
	if fi.IsDir() {
		return nil // no object has this key
	}
	if err := os.Remove(path); err != nil && !notFoundPath(err) {
		return fmt.Errorf("idsync: delete artifact %s: %w", key, err)
	}
	// Remove the folders left empty, up to (not including) f.dir; a
	// folder that is not empty, or that a Put is filling, stays.
	for dir := filepath.Dir(path); dir != filepath.Clean(f.dir) && len(dir) > len(filepath.Clean(f.dir)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List implements [Artifacts.List].
func (f *FolderArtifacts) List(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if err := CheckArtifactPrefix(prefix); err != nil {
			yield("", err)
			return
		}
		root := f.dir
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			root = filepath.Join(f.dir, filepath.FromSlash(prefix[:i]))
		}
		stopped := errors.New("stopped")
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == root && notFoundPath(err) {
					return filepath.SkipAll
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if path == root {
				if !d.IsDir() {
					return filepath.SkipAll // a file where the prefix needs a folder
				}
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil // a temporary file
			}
			rel, err := filepath.Rel(f.dir, path)
			if err != nil {
				return err
			}
			key := filepath.ToSlash(rel)
			if d.IsDir() {
				// Skip a folder none of whose keys can begin with prefix.
				if k := key + "/"; !strings.HasPrefix(k, prefix) && !strings.HasPrefix(prefix, k) {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
				return nil
			}
			if !yield(key, nil) {
				return stopped
			}
			return nil
		})
		if err != nil && err != stopped {
			yield("", fmt.Errorf("idsync: list artifacts %q: %w", prefix, err))
		}
	}
}
