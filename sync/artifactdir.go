package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idsync/idsync/internal/ctxio"
)

// A folder stored by [PutDir] under a prefix p is two kinds of objects:
//
//	p/objects/ab/ab12…ef   a file's content, named by its SHA-256 in hex
//	p/manifests/9f3c…01    a manifest, named by its own SHA-256: the ref
//
// A manifest is JSON: {"format":"idsync.dir/1","files":[{"name":…,
// "size":…,"sha256":…},…]}, its files in ascending bytewise order of name.
// Objects are shared by every manifest that lists their hash (stored
// once), and written before the manifest, which is written before PutDir
// returns its ref: a ref that a state records always names a whole folder.
const dirManifestFormat = "idsync.dir/1"

// maxDirManifest bounds the size of a manifest that GetDir reads.
const maxDirManifest = 16 << 20

type dirManifest struct {
	Format string    `json:"format"`
	Files  []dirFile `json:"files"`
}

type dirFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func artifactJoin(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "/" + key
}

func objectKey(prefix, sum string) string {
	return artifactJoin(prefix, "objects/"+sum[:2]+"/"+sum)
}

func manifestKey(prefix, ref string) string {
	return artifactJoin(prefix, "manifests/"+ref)
}

func checkDirPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return CheckArtifactKey(prefix)
}

// isSHA256 reports whether s is a SHA-256 in lowercase hex.
func isSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// PutDir stores the files of the folder dir in a under prefix ("" for the
// root of a), and returns the ref of its manifest: the SHA-256, in hex, of
// a manifest listing each file's name, size and SHA-256. The same files
// give the same ref. Each file is stored as an object named by its hash,
// unless an object of that hash is already there (so a file shared by
// several folders, or stored before, is stored once); the manifest is
// stored last, so the ref names a whole folder as soon as PutDir returns
// it, and a PutDir that fails leaves no manifest (only objects, which
// [PruneDirs] deletes if no kept ref lists them).
//
// dir holds regular files only: PutDir refuses a folder, a symbolic link
// or any other kind of file in it, rather than leave it out. It reads
// each file twice (to hash it, then to store it), as a stream, and fails
// if a file changes in between. The files must not change while it runs.
func PutDir(ctx context.Context, a Artifacts, prefix, dir string) (ref string, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("idsync: PutDir %s: %w", dir, err)
		}
	}()
	if err := checkDirPrefix(prefix); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	m := dirManifest{Format: dirManifestFormat, Files: []dirFile{}}
	for _, e := range entries { // sorted by name
		if !e.Type().IsRegular() {
			return "", fmt.Errorf("%s is not a regular file (%s): PutDir stores a folder of regular files only", e.Name(), e.Type())
		}
		if !validDirFileName(e.Name()) {
			return "", fmt.Errorf("file name %q would not be a local file name on every system (GetDir refuses it)", e.Name())
		}
		size, sum, err := hashFile(ctx, filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		m.Files = append(m.Files, dirFile{Name: e.Name(), Size: size, SHA256: sum})
	}
	stored := map[string]bool{}
	for _, f := range m.Files {
		if stored[f.SHA256] {
			continue
		}
		if err := putObject(ctx, a, prefix, filepath.Join(dir, f.Name), f); err != nil {
			return "", err
		}
		stored[f.SHA256] = true
	}
	data, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	ref = hex.EncodeToString(sum[:])
	if err := a.Put(ctx, manifestKey(prefix, ref), bytes.NewReader(data)); err != nil {
		return "", err
	}
	return ref, nil
}

// hashFile returns the size and SHA-256 of the file at path.
func hashFile(ctx context.Context, path string) (int64, string, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer file.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxio.Reader(ctx, file))
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// putObject stores the file at path as the object of f.SHA256, unless
// that object is there.
func putObject(ctx context.Context, a Artifacts, prefix, path string, f dirFile) error {
	key := objectKey(prefix, f.SHA256)
	r, err := a.Get(ctx, key)
	if err == nil {
		return r.Close()
	}
	if !errors.Is(err, ErrArtifactNotFound) {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	return a.Put(ctx, key, &checkedReader{r: file, h: sha256.New(), file: f})
}

// checkedReader reads a file that must have f's size and hash, and
// returns an error instead of io.EOF when it does not, so that the Put
// reading it fails and stores nothing.
type checkedReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	file dirFile
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.file.Size || err == io.EOF && (c.n != c.file.Size || hex.EncodeToString(c.h.Sum(nil)) != c.file.SHA256) {
		return n, fmt.Errorf("%s changed while PutDir read it", c.file.Name)
	}
	return n, err
}

// GetDir writes the files of the folder that ref names (a ref that
// [PutDir] returned with the same prefix) into dir, which must not exist,
// or be an empty folder. It verifies each file's size and SHA-256 as it
// streams it, and the manifest's hash. It writes the files into a
// temporary folder beside dir (its name begins with "."), then renames
// that folder to dir: on any error, dir is left as it was and no file
// appears under the final names.
//
// A ref whose manifest is missing returns an error matching
// [ErrArtifactNotFound]; a manifest or a file whose content does not
// match its hash or size, or a manifest that cannot be read, an error
// matching [ErrArtifactCorrupt]; a file whose object is missing, an error
// matching both (the ref names a broken folder). Never a partial folder.
func GetDir(ctx context.Context, a Artifacts, prefix, ref, dir string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("idsync: GetDir %s into %s: %w", ref, dir, err)
		}
	}()
	m, err := readDirManifest(ctx, a, prefix, ref)
	if err != nil {
		return err
	}
	existed := false
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a folder", dir)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return fmt.Errorf("%s exists and is not empty", dir)
		}
		existed = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(staging)
		}
	}()
	for _, f := range m.Files {
		if err := getObject(ctx, a, prefix, f, filepath.Join(staging, f.Name)); err != nil {
			return err
		}
	}
	if existed {
		if err := os.Remove(dir); err != nil {
			return err
		}
	}
	if err := os.Rename(staging, dir); err != nil {
		return err
	}
	done = true
	return nil
}

// readDirManifest reads and checks the manifest of ref.
func readDirManifest(ctx context.Context, a Artifacts, prefix, ref string) (*dirManifest, error) {
	if err := checkDirPrefix(prefix); err != nil {
		return nil, err
	}
	if !isSHA256(ref) {
		return nil, fmt.Errorf("%w: ref %q is not a SHA-256 in lowercase hex", ErrInvalidArtifactKey, ref)
	}
	r, err := a.Get(ctx, manifestKey(prefix, ref))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxDirManifest+1))
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != ref {
		return nil, fmt.Errorf("%w: the manifest's SHA-256 is %x", ErrArtifactCorrupt, sum)
	}
	var m dirManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrArtifactCorrupt, err)
	}
	if m.Format != dirManifestFormat {
		return nil, fmt.Errorf("%w: manifest format %q, want %q", ErrArtifactCorrupt, m.Format, dirManifestFormat)
	}
	for i, f := range m.Files {
		switch {
		case !validDirFileName(f.Name):
			return nil, fmt.Errorf("%w: manifest names file %q", ErrArtifactCorrupt, f.Name)
		case i > 0 && f.Name <= m.Files[i-1].Name:
			return nil, fmt.Errorf("%w: manifest names file %q after %q", ErrArtifactCorrupt, f.Name, m.Files[i-1].Name)
		case f.Size < 0 || !isSHA256(f.SHA256):
			return nil, fmt.Errorf("%w: manifest gives file %q size %d and hash %q", ErrArtifactCorrupt, f.Name, f.Size, f.SHA256)
		}
	}
	return &m, nil
}

// validDirFileName reports whether name is a file name that GetDir may
// write: one local element, on every system.
func validDirFileName(name string) bool {
	return name != "" && name != "." && name != ".." && fs.ValidPath(name) &&
		!strings.ContainsAny(name, `/\`) && filepath.IsLocal(name) && filepath.Base(name) == name
}

// getObject writes the object of f into the new file path, verifying its
// size and hash.
func getObject(ctx context.Context, a Artifacts, prefix string, f dirFile, path string) error {
	r, err := a.Get(ctx, objectKey(prefix, f.SHA256))
	if err != nil {
		if errors.Is(err, ErrArtifactNotFound) {
			return fmt.Errorf("%w: %w: the object of file %s", ErrArtifactCorrupt, err, f.Name)
		}
		return err
	}
	defer r.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(ctxio.Reader(ctx, r), f.Size+1))
	if err != nil {
		return err
	}
	if n != f.Size {
		return fmt.Errorf("%w: file %s: the object holds %s bytes, the manifest says %d", ErrArtifactCorrupt, f.Name, sizeSaid(n, f.Size), f.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		return fmt.Errorf("%w: file %s: SHA-256 %s, the manifest says %s", ErrArtifactCorrupt, f.Name, sum, f.SHA256)
	}
	return out.Close()
}

func sizeSaid(n, want int64) string {
	if n > want {
		return fmt.Sprintf("more than %d", want)
	}
	return fmt.Sprint(n)
}

// PruneDirs deletes, under prefix, the manifests of every ref not in keep
// and the objects that no kept manifest lists, and returns how many
// objects (manifests included) it deleted. It reads every kept manifest
// first, and deletes nothing if one is missing or corrupt, or if a listing
// fails; it deletes manifests before objects, so that a PruneDirs that
// stops midway leaves no manifest of a deleted object. Keys under prefix
// that PutDir does not write are left alone.
//
// PruneDirs must not run while a PutDir under the same prefix, in any
// process, may be storing a ref that keep does not hold: that PutDir may
// find an object present, skip it, and have PruneDirs delete it before
// it writes its manifest (GetDir of that ref then fails with
// [ErrArtifactCorrupt]; it never returns a partial folder). Callers
// serialize the two with a lock that covers the prefix: the engine keeps
// each connector's artifacts under a prefix of its own, and prunes it
// while holding the connector's lock, under which every PutDir of that
// connector runs, with keep holding every ref its state records.
func PruneDirs(ctx context.Context, a Artifacts, prefix string, keep []string) (deleted int, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("idsync: PruneDirs %q: %w", prefix, err)
		}
	}()
	if err := checkDirPrefix(prefix); err != nil {
		return 0, err
	}
	kept := map[string]bool{}
	live := map[string]bool{}
	for _, ref := range keep {
		m, err := readDirManifest(ctx, a, prefix, ref)
		if err != nil {
			return 0, fmt.Errorf("kept ref %s: %w", ref, err)
		}
		kept[ref] = true
		for _, f := range m.Files {
			live[f.SHA256] = true
		}
	}
	var doomed []string
	mp := manifestKey(prefix, "")
	for key, err := range a.List(ctx, mp) {
		if err != nil {
			return 0, err
		}
		if ref := key[len(mp):]; isSHA256(ref) && !kept[ref] {
			doomed = append(doomed, key)
		}
	}
	op := artifactJoin(prefix, "objects/")
	for key, err := range a.List(ctx, op) {
		if err != nil {
			return 0, err
		}
		fan, sum, ok := strings.Cut(key[len(op):], "/")
		if ok && isSHA256(sum) && fan == sum[:2] && !live[sum] {
			doomed = append(doomed, key)
		}
	}
	for _, key := range doomed {
		if err := a.Delete(ctx, key); err != nil {
			return deleted, err
		}
		deleted++
	}
	return deleted, nil
}
