package connector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
)

func model() *entitytype.Model {
	return &entitytype.Model{
		Name: "HR",
		EntityTypes: []entitytype.EntityType{
			{Name: "HR_User", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"}, {Name: "roles", Column: "Roles"},
			}},
			{Name: "HR_Org", File: "orgs.xlsx", Sheet: "Orgs", Key: []string{"code"}, Properties: []entitytype.Property{
				{Name: "code", Column: "Code"},
			}},
			{Name: "HR_Role", File: "roles.txt", Separator: ";", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
			}},
		},
		Associations: []entitytype.Association{
			{Name: "HR_Members", Source: entitytype.End{EntityType: "HR_Org", Column: "Code"},
				Target: entitytype.End{EntityType: "HR_User", Column: "ID"}},
			{Name: "HR_UserRoles", Inline: true, Source: entitytype.End{EntityType: "HR_User", Column: "ID"},
				Target: entitytype.End{EntityType: "HR_Role", Column: "Roles", Separator: "|"}},
		},
	}
}

func TestTableFile(t *testing.T) {
	m := model()
	for _, c := range []struct {
		name, file string
		sep        rune
		sheet      string
		ok         bool
	}{
		{"HR_User", "HR_User.csv", 0, "", true},
		{"HR_Org", "orgs.xlsx", 0, "Orgs", true},
		{"HR_Role", "roles.txt", ';', "", true},
		{"HR_Members", "HR_Members.csv", 0, "", true},
		{"HR_UserRoles", "", 0, "", false}, // inline: read from HR_User's file
		{"HR_Unknown", "", 0, "", false},
	} {
		file, opts, err := connector.TableFile(m, c.name)
		ok := err == nil
		if !ok && !errors.Is(err, connector.ErrNotExported) {
			t.Errorf("TableFile(%q): %v, want connector.ErrNotExported", c.name, err)
		}
		if file != c.file || ok != c.ok {
			t.Errorf("TableFile(%q) = %q, %v; want %q, %v", c.name, file, ok, c.file, c.ok)
		}
		if ok && (opts == nil || opts.Separator != c.sep || opts.Sheet != c.sheet) {
			t.Errorf("TableFile(%q) options = %+v, want separator %q and sheet %q", c.name, opts, c.sep, c.sheet)
		}
	}
	want := []string{"HR_User.csv", "orgs.xlsx", "roles.txt", "HR_Members.csv"}
	if got := connector.Files(m); !slices.Equal(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
}

// writeFile writes records to dir/name with w.
func writeFile(t *testing.T, dir, name string, newWriter func(io.Writer) (extract.Writer, error), records ...[]string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := newWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func csvWriter(opts *extract.Options) func(io.Writer) (extract.Writer, error) {
	return func(w io.Writer) (extract.Writer, error) { return extract.NewCSVWriter(w, opts), nil }
}

func xlsxWriter(opts *extract.Options) func(io.Writer) (extract.Writer, error) {
	return func(w io.Writer) (extract.Writer, error) { return extract.NewXLSXWriter(w, opts) }
}

// readAll opens the table name of f and returns its header and rows.
func readAll(t *testing.T, f connector.Folder, name string) [][]string {
	t.Helper()
	tbl, err := f.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer tbl.Close()
	out := [][]string{tbl.Header()}
	for {
		row, err := tbl.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: Read: %v", name, err)
		}
		out = append(out, slices.Clone(row))
	}
}

func TestFolderReadsEachFileAsItsModelSays(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "HR_User.csv", csvWriter(nil), []string{"ID", "Roles"}, []string{"U1", "R1|R2"})
	writeFile(t, dir, "orgs.xlsx", xlsxWriter(&extract.Options{Sheet: "Orgs"}), []string{"Code"}, []string{"O1"})
	writeFile(t, dir, "roles.txt", csvWriter(&extract.Options{Separator: ';'}), []string{"ID", "Label"}, []string{"R1", "a, b"})
	writeFile(t, dir, "HR_Members.csv", csvWriter(nil), []string{"Code", "ID"}, []string{"O1", "U1"})
	f := connector.Folder{Dir: dir, Model: model()}
	for name, want := range map[string][][]string{
		"HR_User":    {{"ID", "Roles"}, {"U1", "R1|R2"}},
		"HR_Org":     {{"Code"}, {"O1"}},
		"HR_Role":    {{"ID", "Label"}, {"R1", "a, b"}},
		"HR_Members": {{"Code", "ID"}, {"O1", "U1"}},
	} {
		if got := readAll(t, f, name); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: read %q, want %q", name, got, want)
		}
	}
}

func TestFolderXLSXNeedsItsSheet(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "orgs.xlsx", xlsxWriter(&extract.Options{Sheet: "Other"}), []string{"Code"}, []string{"O1"})
	_, err := connector.Folder{Dir: dir, Model: model()}.Open(context.Background(), "HR_Org")
	if err == nil || !strings.Contains(err.Error(), `"Orgs"`) {
		t.Errorf("Open of a workbook without the model's sheet: %v, want an error naming the sheet", err)
	}
}

func TestFolderMissingFileNotExported(t *testing.T) {
	dir := t.TempDir()
	f := connector.Folder{Dir: dir, Model: model()}
	for name, file := range map[string]string{"HR_User": "HR_User.csv", "HR_Org": "orgs.xlsx", "HR_Members": "HR_Members.csv"} {
		_, err := f.Open(context.Background(), name)
		if !errors.Is(err, connector.ErrNotExported) {
			t.Errorf("Open(%q) without its file: %v, want connector.ErrNotExported", name, err)
			continue
		}
		for _, s := range []string{name, file, dir} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Open(%q) without its file: %q does not name %s", name, err, s)
			}
		}
	}
	for _, name := range []string{"HR_UserRoles", "HR_Unknown", "../HR_User"} {
		if _, err := f.Open(context.Background(), name); !errors.Is(err, connector.ErrNotExported) || !strings.Contains(err.Error(), name) {
			t.Errorf("Open(%q): %v, want connector.ErrNotExported naming it", name, err)
		}
	}
}

func TestFolderOpenCancelled(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "HR_User.csv", csvWriter(nil), []string{"ID", "Roles"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (connector.Folder{Dir: dir, Model: model()}).Open(ctx, "HR_User"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestCopyFiles(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(from, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.csv", "sub/b.csv"} {
		if err := os.WriteFile(filepath.Join(from, name), []byte("content of "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := connector.CopyFiles(context.Background(), from, to, []string{"a.csv", "sub/b.csv"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.csv", "sub/b.csv"} {
		b, err := os.ReadFile(filepath.Join(to, name))
		if err != nil || string(b) != "content of "+name {
			t.Errorf("copy of %s: %q, %v", name, b, err)
		}
	}
	// A later change of the source leaves the copy alone.
	if err := os.WriteFile(filepath.Join(from, "a.csv"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(to, "a.csv")); string(b) != "content of a.csv" {
		t.Errorf("copy changed with its source: %q", b)
	}

	err := connector.CopyFiles(context.Background(), from, t.TempDir(), []string{"a.csv", "x.csv", "y.csv"})
	if err == nil || !strings.Contains(err.Error(), "x.csv") || !strings.Contains(err.Error(), "y.csv") {
		t.Errorf("CopyFiles with missing files: %v, want an error naming each", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := connector.CopyFiles(ctx, from, t.TempDir(), []string{"a.csv"}); !errors.Is(err, context.Canceled) {
		t.Errorf("CopyFiles with a cancelled context: %v, want context.Canceled", err)
	}
}

// A model built in Go never goes through the configuration loader: a file
// name that leaves the folder is refused when the table is opened, and
// nothing outside the folder is read.
func TestFolderRefusesFileOutside(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "in")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "victim.csv"), []byte("ID,Roles\n1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"../victim.csv", filepath.Join(parent, "victim.csv"), "a/../../victim.csv"} {
		m := model()
		m.EntityTypes[0].File = file
		_, _, err := connector.TableFile(m, "HR_User")
		if !errors.Is(err, connector.ErrNotLocal) || !strings.Contains(err.Error(), "HR_User") || !strings.Contains(err.Error(), file) {
			t.Errorf("TableFile with file %q: %v, want connector.ErrNotLocal naming the table and file", file, err)
		}
		r, err := connector.Folder{Dir: dir, Model: m}.Open(context.Background(), "HR_User")
		if !errors.Is(err, connector.ErrNotLocal) {
			t.Errorf("Open with file %q: %v, want connector.ErrNotLocal", file, err)
		}
		if r != nil {
			r.Close()
		}
	}
}

// The export never writes outside its folder, never onto its source, and
// never modifies an input file.
func TestCopyFilesStaysInside(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	from := filepath.Join(work, "in")
	to := filepath.Join(work, "runs", "r1", "export")
	for _, d := range []string{from, to} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	victim := filepath.Join(work, "victim.csv")
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(victim, "victim")
	write(filepath.Join(from, "a.csv"), "ID\n1\n")
	check := func(what string) {
		t.Helper()
		if b, err := os.ReadFile(victim); err != nil || string(b) != "victim" {
			t.Errorf("%s: victim is now %q, %v", what, b, err)
		}
		if b, err := os.ReadFile(filepath.Join(from, "a.csv")); err != nil || string(b) != "ID\n1\n" {
			t.Errorf("%s: input a.csv is now %q, %v", what, b, err)
		}
	}

	// Names that leave a folder: nothing is copied, not even the good one.
	for _, n := range []string{"../victim.csv", "../../../victim.csv", victim, "", "x/../../victim.csv"} {
		err := connector.CopyFiles(ctx, from, to, []string{"a.csv", n})
		if !errors.Is(err, connector.ErrNotLocal) {
			t.Errorf("CopyFiles(%q): %v, want connector.ErrNotLocal", n, err)
		}
		check(fmt.Sprintf("CopyFiles(%q)", n))
	}
	if entries, _ := os.ReadDir(to); len(entries) != 0 {
		t.Errorf("refused copies left %d files in the export folder", len(entries))
	}

	// A copy onto itself: the source is left whole.
	err := connector.CopyFiles(ctx, from, from, []string{"a.csv"})
	if err == nil || !strings.Contains(err.Error(), "source file itself") {
		t.Errorf("CopyFiles onto itself: %v, want an error", err)
	}
	check("CopyFiles onto itself")

	// Nor through a symbolic link to the source folder.
	link := filepath.Join(work, "link")
	if err := os.Symlink(from, link); err == nil {
		if err := connector.CopyFiles(ctx, from, link, []string{"a.csv"}); err == nil {
			t.Errorf("CopyFiles onto itself through a link: no error")
		}
		check("CopyFiles through a link")
	}

	// A symbolic link in the export folder that leads outside is not
	// followed.
	if err := os.Symlink(work, filepath.Join(to, "out")); err == nil {
		write(filepath.Join(from, "victim.csv"), "attack")
		if err := os.MkdirAll(filepath.Join(from, "out"), 0o755); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(from, "out", "victim.csv"), "attack")
		if err := connector.CopyFiles(ctx, from, to, []string{"out/victim.csv"}); err == nil {
			t.Errorf("CopyFiles through a link leading outside: no error")
		}
		check("CopyFiles through a link leading outside")
	}

	// An existing destination is not overwritten; a name given twice is
	// copied once.
	to2 := t.TempDir()
	write(filepath.Join(to2, "b.csv"), "keep")
	write(filepath.Join(from, "b.csv"), "new")
	if err := connector.CopyFiles(ctx, from, to2, []string{"a.csv", "./a.csv", "a.csv"}); err != nil {
		t.Errorf("CopyFiles of a name given twice: %v", err)
	}
	if err := connector.CopyFiles(ctx, from, to2, []string{"b.csv"}); err == nil {
		t.Errorf("CopyFiles onto an existing file: no error")
	}
	if b, _ := os.ReadFile(filepath.Join(to2, "b.csv")); string(b) != "keep" {
		t.Errorf("existing file overwritten: %q", b)
	}
}

func TestDeltaKeepsAbilities(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.csv")
	if err := os.WriteFile(path, []byte("Op,ID\ninsert,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := extract.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := connector.Delta(r, "Op")
	if connector.CommandColumn(d) != "Op" {
		t.Errorf("CommandColumn = %q", connector.CommandColumn(d))
	}
	if _, ok := d.(connector.BytesTable); !ok {
		t.Error("Delta hides BytesTable")
	}
	rr, ok := d.(connector.Rereader)
	if !ok {
		t.Fatal("Delta hides Rereader")
	}
	if s, ok := d.(connector.Sizer); !ok || s.Size() != int64(len("Op,ID\ninsert,1\n")) {
		t.Errorf("Delta hides Sizer or its size: %v", ok)
	}
	if _, err := d.Read(); err != nil {
		t.Fatal(err)
	}
	if row, err := rr.ReadAt(rr.Offset()); err != nil || row[1] != "1" {
		t.Errorf("ReadAt through Delta: %q, %v", row, err)
	}
}
