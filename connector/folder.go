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

// Open implements Extraction.
func (f Folder) Open(ctx context.Context, name string) (Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file, opts, ok := TableFile(f.Model, name)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no file of its own in %s", ErrNotExported, name, f.Model.Name)
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

// TableFile returns the file name and reading options of an entity type's
// or association's table, and whether name is one of model's.
func TableFile(m *entitytype.Model, name string) (file string, opts *extract.Options, ok bool) {
	for _, t := range m.EntityTypes {
		if t.Name == name {
			return fileName(t.File, t.Name), readOptions(t.Separator, t.Sheet), true
		}
	}
	for _, a := range m.Associations {
		if a.Name == name && !a.Inline {
			return fileName(a.File, a.Name), readOptions(a.Separator, a.Sheet), true
		}
	}
	return "", nil, false
}

// Files returns the names of the files that a Folder of model reads.
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
func CopyFiles(ctx context.Context, from, to string, names []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var missing []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(from, n)); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("connector: missing in %s: %s", from, strings.Join(missing, ", "))
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(from, n), filepath.Join(to, n)); err != nil {
			return fmt.Errorf("connector: export %s: %w", n, err)
		}
	}
	return nil
}

func copyFile(from, to string) error {
	// A hard link is a snapshot too as long as the source is replaced, not
	// rewritten in place; copy to be safe with both.
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := dst.ReadFrom(src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

var _ BytesTable = (*extract.Reader)(nil)
