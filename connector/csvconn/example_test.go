package csvconn_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/idsync/idsync/connector/csvconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/threshold"
)

// A folder where an HR system drops its files, synchronized into a store:
// the export copies the files into the run's folder, so the HR system may
// replace them meanwhile.
func Example() {
	input, _ := os.MkdirTemp("", "csvconn-example-*")
	defer os.RemoveAll(input)
	os.WriteFile(filepath.Join(input, "people.csv"), []byte("ID;Name;Hired\n1;Ann;02/01/2024\n2;Bob;15/03/2020\n"), 0o644)
	model := &entitytype.Model{Name: "HR", Thresholds: threshold.Off(), EntityTypes: []entitytype.EntityType{{
		Name: "HR_Person", File: "people.csv", Separator: ";", Key: []string{"id"},
		Properties: []entitytype.Property{
			{Name: "id", Column: "ID"},
			{Name: "name", Column: "Name"},
			{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
		},
	}}}
	work, _ := os.MkdirTemp("", "csvconn-work-*")
	defer os.RemoveAll(work)
	store := memstore.New()
	engine := idsync.New(store, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})

	run, err := engine.Run(context.Background(), csvconn.New(model, input, nil), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(run.State, run.EntityTypes[0].Inserted, "inserted")
	fmt.Println(store.Get("HR_Person", "1"))
	// Output:
	// succeeded 2 inserted
	// map[hired:2024-01-02 id:1 name:Ann]
}
