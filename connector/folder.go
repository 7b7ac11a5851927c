package connector

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
)

// Folder is an extraction held as files in a folder: one file per entity
// type and association, named by its File field (Name + ".csv" when
// empty), read as XLSX when it ends in .xlsx and as CSV otherwise. A file
// whose entity type (association) sets CommandColumn is a file of changes:
// Open returns it as a [DeltaTable]. The
// file-based connectors return it; a host can also use it directly to
// synchronize files exported by other means.
type Folder struct {
	Dir   string
	Model *entitytype.Model
	// Source, when set, is the folder the files were copied from: errors
	// and reports name the files there, which a person knows, rather than
	// the copies in Dir.
	Source string
}

// Open implements Extraction. A table whose file is not a local name
// inside the folder is an error matching [ErrNotLocal].
func (f Folder) Open(ctx context.Context, name string) (Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file, opts, err := TableFile(f.Model, name)
	if err != nil {
		return nil, err
	}
	shown := filepath.Join(f.Dir, file)
	if f.Source != "" {
		shown = filepath.Join(f.Source, file)
	}
	r, err := extract.OpenAs(filepath.Join(f.Dir, file), shown, opts)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s: no file %s in %s", ErrNotExported, name, file, f.Dir)
	}
	if err != nil {
		return nil, err
	}
	if cmd := fileCommandColumn(f.Model, name); cmd != "" {
		return Delta(r, cmd), nil
	}
	return r, nil
}

// ErrNotLocal is matched by the error for a table file name that is not a
// local name inside its folder (see [filepath.IsLocal]): an absolute path,
// an empty name, or a name that leaves the folder with "..". Reading or
// copying such a file would reach outside the folder. The configuration
// loader refuses such names; this error guards models built in Go.
var ErrNotLocal = errors.New("connector: file name is not a local name inside its folder")

// localError is an error matching ErrNotLocal.
type localError struct {
	table string // the entity type or association, if known
	file  string
}

func (e *localError) Error() string {
	if e.table == "" {
		return fmt.Sprintf("connector: file %q must be a local name inside the input folder", e.file)
	}
	return fmt.Sprintf("connector: %s: file %q must be a local name inside the input folder", e.table, e.file)
}

func (e *localError) Is(target error) bool { return target == ErrNotLocal }

// TableFile returns the file name and reading options of an entity type's
// or association's table. The error matches [ErrNotExported] when name is
// not one of model's tables or has no file of its own (an inline
// association), and [ErrNotLocal] when its file is not a local name inside
// the input folder: the file name returned is always one that
// filepath.Join keeps inside the folder it is joined to.
func TableFile(m *entitytype.Model, name string) (file string, opts *extract.Options, err error) {
	found := false
	for _, t := range m.EntityTypes {
		if t.Name == name {
			file, opts, found = fileName(t.File, t.Name), readOptions(t.Separator, t.Sheet), true
			break
		}
	}
	if !found {
		for _, a := range m.Associations {
			if a.Name == name && !a.Inline {
				file, opts, found = fileName(a.File, a.Name), readOptions(a.Separator, a.Sheet), true
				break
			}
		}
	}
	if !found {
		return "", nil, fmt.Errorf("%w: %s has no file of its own in %s", ErrNotExported, name, m.Name)
	}
	if !filepath.IsLocal(file) {
		return "", nil, &localError{table: name, file: file}
	}
	return file, opts, nil
}

// Files returns the names of the files that a Folder of model reads, as
// configured: [CopyFiles] and [TableFile] refuse those that are not local
// names.
func Files(m *entitytype.Model) []string {
	var out []string
	for _, t := range m.EntityTypes {
		out = append(out, fileName(t.File, t.Name))
	}
	for _, a := range m.Associations {
		if !a.Inline {
			out = append(out, fileName(a.File, a.Name))
		}
	}
	return out
}

func fileName(file, name string) string {
	if file == "" {
		return name + ".csv"
	}
	return file
}

func readOptions(sep, sheet string) *extract.Options {
	o := &extract.Options{Sheet: sheet}
	if sep != "" {
		o.Separator = []rune(sep)[0]
	}
	return o
}

// CopyFiles copies the named files from one folder to another, so that an
// export is a snapshot that later changes of the source do not disturb. A
// missing file is an error naming every missing file.
//
// Every name must be a local name inside both folders (else the error
// matches [ErrNotLocal] and nothing is copied), and no copy is written
// outside to, even through a symbolic link. A file is never overwritten:
// a copy whose destination exists is an error, so that a source cannot be
// truncated by a copy onto itself (from and to being the same folder), and
// the source files are only read. A name given twice is copied once.
func CopyFiles(ctx context.Context, from, to string, names []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var todo, missing []string
	seen := map[string]bool{}
	for _, n := range names {
		if !filepath.IsLocal(n) {
			return &localError{file: n}
		}
		if n = filepath.Clean(n); !seen[n] {
			seen[n] = true
			todo = append(todo, n)
		}
	}
	for _, n := range todo {
		if _, err := os.Stat(filepath.Join(from, n)); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("connector: missing in %s: %s", from, strings.Join(missing, ", "))
	}
	root, err := os.OpenRoot(to)
	if err != nil {
		return fmt.Errorf("connector: export: %w", err)
	}
	defer root.Close()
	for _, n := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(from, n), root, n); err != nil {
			return fmt.Errorf("connector: export %s: %w", n, err)
		}
	}
	return nil
}

// copyFile copies the file at from to name in root, which must not exist.
func copyFile(from string, root *os.Root, name string) (err error) {
	// A hard link is a snapshot too as long as the source is replaced, not
	// rewritten in place; copy to be safe with both.
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// Before opening anything for writing: the copy must not be the
	// source (from and to the same folder, or linked).
	if di, err := root.Lstat(name); err == nil {
		if os.SameFile(info, di) {
			return fmt.Errorf("the copy in %s would be the source file itself", root.Name())
		}
		return fmt.Errorf("%s already exists in %s", name, root.Name())
	}
	// O_EXCL: never truncate a file that appeared since.
	dst, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			root.Remove(name)
		}
	}()
	_, err = dst.ReadFrom(src)
	return err
}

var (
	_ BytesTable = (*extract.Reader)(nil)
	_ Rereader   = (*extract.Reader)(nil)
	_ Sizer      = (*extract.Reader)(nil)
)
