// Command customconnector shows how to write a connector for a managed
// system that idsync does not know: RESTConnector reads users, groups and
// memberships from a REST API (served in process here by httptest), and
// the engine synchronizes them into an in-memory store: a complete first
// load; the next day, an incremental run of the API's change log (a user
// renamed, one gone); then a complete run, which finds nothing left to do.
// One connector and one model serve both modes: the connector's change
// export says that its tables are deltas.
//
//	go run ./examples/customconnector
//
// A connector needs two methods, Model and Export (see package connector);
// ExportChanges is optional. Its test runs the connectortest conformance
// kit (see main_test.go).
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/threshold"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// model is the data model of the API: what the connector exports.
func model() *entitytype.Model {
	return &entitytype.Model{
		Name: "Directory",
		// A first load into an empty store exceeds every percentage
		// threshold and would block for review (see examples/quickstart):
		// this example turns them off.
		Thresholds: threshold.Limits{
			MaxPercentInserted: threshold.PercentOff(), MaxPercentUpdated: threshold.PercentOff(),
			MaxPercentDeleted: threshold.PercentOff(), MaxLinkPercentInserted: threshold.PercentOff(),
			MaxLinkPercentDeleted: threshold.PercentOff(),
		},
		EntityTypes: []entitytype.EntityType{
			{Name: "users", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "id"},
				{Name: "name", Column: "name"},
				{Name: "email", Column: "email"},
				{Name: "hired", Column: "hired", Type: entitytype.Date},
				{Name: "active", Column: "active", Type: entitytype.Bool},
			}},
			{Name: "groups", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "id"},
				{Name: "name", Column: "name"},
			}},
		},
		Associations: []entitytype.Association{{
			Name:   "members",
			Source: entitytype.End{EntityType: "groups", Column: "group"},
			Target: entitytype.End{EntityType: "users", Column: "user"},
		}},
	}
}

func run(ctx context.Context, out io.Writer) error {
	api := NewAPI(2) // small pages, to show paging
	api.Set("users",
		map[string]string{"id": "u1", "name": "Ann Lee", "email": "ann@example.com", "hired": "2021-03-01", "active": "true"},
		map[string]string{"id": "u2", "name": "Bob Stone", "email": "bob@example.com", "hired": "2022-11-15", "active": "true"},
		map[string]string{"id": "u3", "name": "Cid Moreau", "hired": "2019-06-30", "active": "false"},
	)
	api.Set("groups",
		map[string]string{"id": "admins", "name": "Administrators"},
		map[string]string{"id": "staff", "name": "Staff"},
	)
	api.Set("members",
		map[string]string{"group": "admins", "user": "u1"},
		map[string]string{"group": "staff", "user": "u1"},
		map[string]string{"group": "staff", "user": "u2"},
		map[string]string{"group": "staff", "user": "u3"},
	)
	srv := httptest.NewServer(api)
	defer srv.Close()

	conn, err := NewRESTConnector(model(), srv.URL, srv.Client())
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "idsync-customconnector-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	store := memstore.New()
	engine := idsync.New(store, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})

	if err := syncOnce(ctx, engine, conn, idsync.Complete, "first load", out); err != nil {
		return err
	}

	// A day later: Bob renamed, Cid gone. The system lists its new state
	// and logs the changes.
	api.Set("users",
		map[string]string{"id": "u1", "name": "Ann Lee", "email": "ann@example.com", "hired": "2021-03-01", "active": "true"},
		map[string]string{"id": "u2", "name": "Bob Stone-Martin", "email": "bob@example.com", "hired": "2022-11-15", "active": "true"},
	)
	api.Set("members",
		map[string]string{"group": "admins", "user": "u1"},
		map[string]string{"group": "staff", "user": "u1"},
		map[string]string{"group": "staff", "user": "u2"},
	)
	api.Change("users", "update", map[string]string{"id": "u2", "name": "Bob Stone-Martin", "email": "bob@example.com", "hired": "2022-11-15", "active": "true"})
	api.Change("users", "delete", map[string]string{"id": "u3"})
	api.Change("members", "delete", map[string]string{"group": "staff", "user": "u3"})
	if err := syncOnce(ctx, engine, conn, idsync.Incremental, "next day, changes", out); err != nil {
		return err
	}
	// The weekly complete run: the store already holds the snapshot.
	if err := syncOnce(ctx, engine, conn, idsync.Complete, "weekly complete run", out); err != nil {
		return err
	}

	u := store.Get("users", "u2")
	fmt.Fprintf(out, "users u2: name %q, hired %s, active %s, member of staff: %v\n",
		u["name"], u["hired"], u["active"], store.HasLink("members", "staff", "u2"))
	return nil
}

// syncOnce runs the connector in mode and prints what changed.
func syncOnce(ctx context.Context, engine *idsync.Engine, conn *RESTConnector, mode idsync.Mode, title string, out io.Writer) error {
	run, err := engine.Run(ctx, conn, &idsync.RunOptions{Mode: mode})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s\n", title, run.State)
	for _, e := range run.EntityTypes {
		fmt.Fprintf(out, "  %-8s %d read, %d inserted, %d updated, %d deleted\n", e.Name, e.Read, e.Inserted, e.Updated, e.Deleted)
	}
	for _, a := range run.Associations {
		fmt.Fprintf(out, "  %-8s %d read, %d inserted, %d deleted\n", a.Name, a.Read, a.Inserted, a.Deleted)
	}
	return nil
}
