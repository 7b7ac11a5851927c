package connector_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
)

// A Folder reads an extraction from files named in the model; a file whose
// entity type sets CommandColumn is a table of changes, a DeltaTable.
func ExampleFolder() {
	dir, _ := os.MkdirTemp("", "folder-example-*")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("ID,Name\n1,Ann\n2,Bob\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "changes.csv"), []byte("Op,ID,Name\ndelete,2,\n"), 0o644)
	model := &entitytype.Model{Name: "HR", EntityTypes: []entitytype.EntityType{
		{Name: "HR_Person", File: "people.csv", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}, {Name: "name", Column: "Name"}}},
		{Name: "HR_Change", File: "changes.csv", CommandColumn: "Op", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}}},
	}}
	ext := connector.Folder{Dir: dir, Model: model}
	ctx := context.Background()
	for _, name := range []string{"HR_Person", "HR_Change"} {
		tbl, err := ext.Open(ctx, name)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: header %q, command column %q\n", filepath.Base(tbl.Name()), tbl.Header(), connector.CommandColumn(tbl))
		for {
			row, err := tbl.Read()
			if err == io.EOF {
				break
			}
			fmt.Printf("  line %d: %q\n", tbl.Line(), row)
		}
		tbl.Close()
	}
	// Output:
	// people.csv: header ["ID" "Name"], command column ""
	//   line 2: ["1" "Ann"]
	//   line 3: ["2" "Bob"]
	// changes.csv: header ["Op" "ID" "Name"], command column "Op"
	//   line 2: ["delete" "2" ""]
}

// Delta marks a table that a connector builds as a table of changes; it
// keeps the table's optional abilities.
func ExampleDelta() {
	var tbl connector.Table = &staticTable{header: []string{"op", "id"}, rows: [][]string{{"merge", "u1"}}}
	d := connector.Delta(tbl, "op")
	fmt.Println(connector.CommandColumn(tbl) == "", connector.CommandColumn(d))
	// Output:
	// true op
}

// staticTable is a Table over rows held in memory.
type staticTable struct {
	header []string
	rows   [][]string
	i      int
}

func (t staticTable) Name() string     { return "static" }
func (t staticTable) Header() []string { return t.header }
func (t *staticTable) Line() int       { return t.i + 1 }
func (t staticTable) Close() error     { return nil }
func (t *staticTable) Read() ([]string, error) {
	if t.i >= len(t.rows) {
		return nil, io.EOF
	}
	t.i++
	return t.rows[t.i-1], nil
}
