package memconn_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/threshold"
)

// A memconn connector holds its managed system's rows in Go: a snapshot
// for complete runs (Set) and changes for incremental ones (SetChanges),
// with one model.
func Example() {
	model := &entitytype.Model{Name: "App", Thresholds: threshold.Off(), EntityTypes: []entitytype.EntityType{{
		Name: "App_User", Key: []string{"id"},
		Properties: []entitytype.Property{{Name: "id", Column: "ID"}, {Name: "active", Column: "Active", Type: entitytype.Bool}},
	}}}
	conn := memconn.New(model)
	conn.Set("App_User", []string{"ID", "Active"}, []string{"u1", "yes"}, []string{"u2", "no"})

	work, _ := os.MkdirTemp("", "memconn-example-*")
	defer os.RemoveAll(work)
	store := memstore.New()
	engine := idsync.New(store, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if _, err := engine.Run(ctx, conn, nil); err != nil {
		fmt.Println(err)
		return
	}

	conn.SetChanges("App_User", "Op", []string{"Op", "ID", "Active"}, []string{"update", "u2", "yes"})
	run, err := engine.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(run.EntityTypes[0].Updated, "updated; u2 active:", store.Get("App_User", "u2")["active"], "; users:", store.Count("App_User"))
	// Output:
	// 1 updated; u2 active: true ; users: 2
}
