package sync_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// A first load blocks on the thresholds (nothing is stored yet, so any
// insert exceeds the 5 % limit); after review, Resume applies exactly the
// reviewed change set.
func Example() {
	ctx := context.Background()
	model := &entitytype.Model{
		Name: "HR",
		EntityTypes: []entitytype.EntityType{{
			Name: "HR_Person", Key: []string{"id"},
			Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
			},
		}},
	}
	conn := memconn.New(model)
	conn.Set("HR_Person", []string{"ID", "Hired"}, []string{"P1", "02/01/2024"}, []string{"P2", "15/03/2020"})

	work, _ := os.MkdirTemp("", "idsync-example-*")
	defer os.RemoveAll(work)
	store := memstore.New()
	engine := idsync.New(store, &idsync.Options{WorkDir: work})

	run, err := engine.Run(ctx, conn, nil)
	var blocked *idsync.BlockedError
	if errors.As(err, &blocked) {
		fmt.Println(run.State, "-", blocked.Err.Verdicts[0])
		cs, _ := run.ChangeSet()
		for c := range cs.Resources("HR_Person") {
			fmt.Println(c.Op, c.Key, c.Props)
		}
		run, err = engine.Resume(ctx, run.ID, nil)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(run.State, store.Get("HR_Person", "P1"))
	// Output:
	// blocked - HR: 2 inserts > maxPercentInserted 5 % of 0 stored (0)
	// insert P1 [{id  P1} {hired  2024-01-02}]
	// insert P2 [{id  P2} {hired  2020-03-15}]
	// succeeded map[hired:2024-01-02 id:P1]
}
