package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/sqlstore"
	"github.com/idsync/idsync/threshold"
)

// Synchronize a connector into a SQLite file, then browse what it stored:
// a user, its groups, and a group's members.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "idsync-example-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "idsync.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	model := &entitytype.Model{
		Name: "HR",
		// A first load would block for review: this example applies it.
		Thresholds: threshold.Limits{MaxPercentInserted: threshold.PercentOff(), MaxLinkPercentInserted: threshold.PercentOff()},
		EntityTypes: []entitytype.EntityType{
			{Name: "User", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"}, {Name: "name", Column: "Name"},
			}},
			{Name: "Group", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}}},
		},
		Associations: []entitytype.Association{{Name: "Members",
			Source: entitytype.End{EntityType: "Group", Column: "Group"},
			Target: entitytype.End{EntityType: "User", Column: "User"}}},
	}
	conn := memconn.New(model)
	conn.Set("User", []string{"ID", "Name"}, []string{"U1", "Ann"}, []string{"U2", "Bob"})
	conn.Set("Group", []string{"ID"}, []string{"admins"}, []string{"all"})
	conn.Set("Members", []string{"Group", "User"}, []string{"all", "U1"}, []string{"all", "U2"}, []string{"admins", "U2"})

	engine := idsync.New(store, &idsync.Options{WorkDir: filepath.Join(dir, "work"), Logger: slog.New(slog.DiscardHandler)})
	run, err := engine.Run(ctx, conn, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("run:", run.State)

	users, err := store.List(ctx, "User", "", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range users {
		fmt.Println(u.Key, u.Properties["name"])
	}
	groups, _ := store.LinksTo(ctx, "Members", "U2")
	fmt.Println("groups of U2:", groups)
	members, _ := store.LinksFrom(ctx, "Members", "all")
	fmt.Println("members of all:", members)
	// The fingerprint is the store's identity and the connector's version.
	fp, _ := store.Fingerprint(ctx, "HR")
	id, _ := store.Identity(ctx)
	fmt.Println("fingerprint:", strings.TrimPrefix(fp, id))
	// Output:
	// run: succeeded
	// U1 Ann
	// U2 Bob
	// groups of U2: [admins all]
	// members of all: [U1 U2]
	// fingerprint: /1
}
