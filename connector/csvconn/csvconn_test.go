package csvconn_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/csvconn"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
)

// files is a harness whose managed system is a folder of files, one per
// table, written by write.
type files struct {
	// file returns the file name of a table, "" for the default.
	file func(name string) string
	// sep is the CSV separator set in the model, 0 for the default.
	sep rune
	// write writes a table to w.
	write func(w io.Writer, tb connectortest.Table) error
	// maxLen is the longest value the files hold, 0 for no limit.
	maxLen int
	opts   *csvconn.Options
}

func (h files) NewConnector(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
	for i := range m.EntityTypes {
		m.EntityTypes[i].File, m.EntityTypes[i].Separator = h.settings(m.EntityTypes[i].Name)
	}
	for i := range m.Associations {
		m.Associations[i].File, m.Associations[i].Separator = h.settings(m.Associations[i].Name)
	}
	c := csvconn.New(m, t.TempDir(), h.opts)
	h.writeAll(t, c, tables)
	return c
}

func (h files) settings(name string) (file, sep string) {
	if h.file != nil {
		file = h.file(name)
	}
	if h.sep != 0 {
		sep = string(h.sep)
	}
	return file, sep
}

// writeAll writes every table where c reads it, truncating the file in
// place if it exists.
func (h files) writeAll(t *testing.T, c *csvconn.Connector, tables map[string]connectortest.Table) {
	t.Helper()
	for name, tb := range tables {
		file, _, err := connector.TableFile(c.Model(), name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(c.Dir(), file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.write(f, tb); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func (h files) MaxValueLen() int { return h.maxLen }

// snapshot adds Mutate to files: the files are rewritten in place.
type snapshot struct{ files }

func (h snapshot) Mutate(t *testing.T, conn connector.Connector, tables map[string]connectortest.Table) {
	h.writeAll(t, conn.(*csvconn.Connector), tables)
}

func writeCSV(sep rune) func(io.Writer, connectortest.Table) error {
	return func(w io.Writer, tb connectortest.Table) error {
		return writeWith(extract.NewCSVWriter(w, &extract.Options{Separator: sep}), tb)
	}
}

func writeXLSX(w io.Writer, tb connectortest.Table) error {
	xw, err := extract.NewXLSXWriter(w, nil)
	if err != nil {
		return err
	}
	return writeWith(xw, tb)
}

func writeWith(w extract.Writer, tb connectortest.Table) error {
	if err := w.Write(tb.Header); err != nil {
		return err
	}
	for _, r := range tb.Rows {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return w.Close()
}

// writeBOMCRLF writes CSV by hand, as a Windows tool would: a UTF-8 byte
// order mark, CRLF line endings, and quotes only where needed.
func writeBOMCRLF(w io.Writer, tb connectortest.Table) error {
	var b strings.Builder
	b.WriteString("\uFEFF")
	for _, r := range append([][]string{tb.Header}, tb.Rows...) {
		for i, f := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(f, ",\"\r\n") {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			b.WriteString(f)
		}
		b.WriteString("\r\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func TestConformance(t *testing.T) {
	t.Run("Comma", func(t *testing.T) {
		connectortest.Run(t, snapshot{files{write: writeCSV(',')}})
	})
	t.Run("Semicolon", func(t *testing.T) {
		connectortest.Run(t, snapshot{files{
			file:  func(name string) string { return "export/kit " + name + ".txt" },
			sep:   ';',
			write: writeCSV(';'),
		}})
	})
	t.Run("BOMAndCRLF", func(t *testing.T) {
		connectortest.Run(t, snapshot{files{write: writeBOMCRLF}})
	})
	t.Run("XLSXFiles", func(t *testing.T) {
		connectortest.Run(t, snapshot{files{
			file:   func(name string) string { return name + ".xlsx" },
			write:  writeXLSX,
			maxLen: 32767,
		}})
	})
	// Files read in place are no snapshot: no Mutate.
	t.Run("InPlace", func(t *testing.T) {
		connectortest.Run(t, files{write: writeCSV(','), opts: &csvconn.Options{InPlace: true}})
	})
}

func model() *entitytype.Model {
	return &entitytype.Model{
		Name: "HR",
		EntityTypes: []entitytype.EntityType{
			{Name: "HR_User", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}}},
			{Name: "HR_Org", File: "orgs.csv", Key: []string{"code"}, Properties: []entitytype.Property{{Name: "code", Column: "Code"}}},
		},
		Associations: []entitytype.Association{{Name: "HR_Members",
			Source: entitytype.End{EntityType: "HR_Org", Column: "Code"},
			Target: entitytype.End{EntityType: "HR_User", Column: "ID"}}},
	}
}

func TestExportNamesEveryMissingFile(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "HR_User.csv"), []byte("ID\nU1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := csvconn.New(model(), src, nil).Export(context.Background(), t.TempDir())
	if err == nil {
		t.Fatal("Export with missing files succeeded")
	}
	for _, f := range []string{"orgs.csv", "HR_Members.csv"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("Export: %v; want an error naming %s", err, f)
		}
	}
}

func TestExportWithoutDirReadsInPlace(t *testing.T) {
	src := t.TempDir()
	path := filepath.Join(src, "HR_User.csv")
	if err := os.WriteFile(path, []byte("ID\nU1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := csvconn.New(model(), src, nil)
	if c.Dir() != src {
		t.Errorf("Dir() = %q, want %q", c.Dir(), src)
	}
	ext, err := c.Export(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := ext.Open(context.Background(), "HR_User")
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if tbl.Name() != path {
		t.Errorf("Name() = %q, want the source file %q", tbl.Name(), path)
	}
}

func TestBadRowNamesFileAndLine(t *testing.T) {
	src := t.TempDir()
	for name, content := range map[string]string{
		"HR_User.csv":    "ID\nU1\n\"U2\nU3\n", // the quote is never closed
		"orgs.csv":       "Code\nO1\n",
		"HR_Members.csv": "Code,ID\nO1,U1,extra\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ext, err := csvconn.New(model(), src, nil).Export(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"HR_User": "starting on line 3", "HR_Members": "HR_Members.csv:2"} {
		tbl, err := ext.Open(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = tbl.Read()
		}
		tbl.Close()
		if err == io.EOF || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Read: %v; want an error naming %s", name, err, want)
		}
	}
}
