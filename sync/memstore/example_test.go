package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// Synchronize an HR system held in memory into a memstore. The first load
// exceeds the default thresholds (any insert is more than 5 % of an empty
// store), so the run blocks for review; resuming it applies it.
func Example() {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "idsync-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(work)

	model := &entitytype.Model{
		Name: "HR",
		EntityTypes: []entitytype.EntityType{{
			Name: "HR_User",
			Key:  []string{"id"},
			Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "name", Column: "Name"},
				{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
			},
		}},
	}
	hr := memconn.New(model)
	hr.Set("HR_User", []string{"ID", "Name", "Hired"},
		[]string{"u1", "Ann", "02/01/2024"},
		[]string{"u2", "Bob", "15/03/2020"},
	)

	store := memstore.New()
	engine := idsync.New(store, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})
	run, err := engine.Run(ctx, hr, nil)
	fmt.Println(run.State, errors.Is(err, idsync.ErrBlocked), store.Count("HR_User"))

	run, err = engine.Resume(ctx, run.ID, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(run.State, run.EntityTypes[0].Inserted, store.Count("HR_User"))
	fmt.Println(store.Get("HR_User", "u1"))
	// Output:
	// blocked true 0
	// succeeded 2 2
	// map[hired:2024-01-02 id:u1 name:Ann]
}
