package intests_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/examples/intests"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// Synchronize HR people held in Go into a memstore, then run the host's
// feature on what the store holds.
func ExampleProvisionEmails() {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "idsync-intests-*")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(work)

	hr := memconn.New(hrModel(thresholdsOff()))
	hr.Set("HR_Person", []string{"ID", "First", "Last", "Active", "Hired"},
		[]string{"p1", "Ann", "Lee", "yes", "02/01/2024"},
		[]string{"p2", "Mary Jane", "Watson", "Y", "15/11/2022"},
		[]string{"p3", "Cid", "Moreau", "no", "30/06/2019"},
	)
	store := memstore.New()
	engine := idsync.New(store, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})
	run, err := engine.Run(ctx, hr, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(run.State, run.EntityTypes[0].Inserted, "people")

	boxes, err := intests.ProvisionEmails(ctx, store)
	if err != nil {
		panic(err)
	}
	for _, b := range boxes {
		fmt.Println(b.Person, b.Address)
	}
	// Output:
	// succeeded 3 people
	// p1 ann.lee@example.com
	// p2 mary-jane.watson@example.com
}
