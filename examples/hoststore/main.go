// Command hoststore shows the Store a host writes for its own repository:
// Repo (repo.go) keeps resources in plain Go maps, in the host's own
// shape, and becomes an idsync.Store with four methods. Its Apply is
// atomic through an undo log, its fingerprint is a per-connector counter,
// and it implements no optional interface, so the engine falls back on
// sorting scans itself and on an in-process lock.
//
// The program synchronizes an HR system held in memory (memconn) into a
// Repo twice: a first load, then a day later with a user renamed and one
// gone. repo_test.go runs the storetest conformance kit on Repo: a host's
// store is done when the kit passes.
//
//	go run ./examples/hoststore
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"strings"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/threshold"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// model is the HR system's data model.
func model() *entitytype.Model {
	return &entitytype.Model{
		Name: "HR",
		// Percentages of an empty store block a first load for review
		// (see examples/quickstart); this example turns them off and
		// keeps the absolute limits.
		Thresholds: threshold.Limits{
			MaxPercentInserted: threshold.PercentOff(), MaxPercentUpdated: threshold.PercentOff(),
			MaxPercentDeleted: threshold.PercentOff(), MaxLinkPercentInserted: threshold.PercentOff(),
			MaxLinkPercentDeleted: threshold.PercentOff(),
		},
		EntityTypes: []entitytype.EntityType{
			{Name: "HR_User", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "name", Column: "Name"},
				{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
			}},
			{Name: "HR_Team", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "name", Column: "Name"},
			}},
		},
		Associations: []entitytype.Association{{
			Name:   "HR_Members",
			Source: entitytype.End{EntityType: "HR_Team", Column: "Team"},
			Target: entitytype.End{EntityType: "HR_User", Column: "User"},
		}},
	}
}

func run(ctx context.Context, out io.Writer) error {
	work, err := os.MkdirTemp("", "idsync-hoststore-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	repo := NewRepo()
	engine := idsync.New(repo, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})

	hr := memconn.New(model())
	users := []string{"ID", "Name", "Hired"}
	hr.Set("HR_User", users,
		[]string{"u1", "Ann Lee", "01/03/2021"},
		[]string{"u2", "Bob Stone", "15/11/2022"},
		[]string{"u3", "Cid Moreau", "30/06/2019"},
	)
	hr.Set("HR_Team", []string{"ID", "Name"}, []string{"ops", "Operations"})
	hr.Set("HR_Members", []string{"Team", "User"}, []string{"ops", "u1"}, []string{"ops", "u3"})
	if err := syncOnce(ctx, engine, hr, "first load", out); err != nil {
		return err
	}

	// A day later: Bob renamed, Cid gone.
	hr.Set("HR_User", users,
		[]string{"u1", "Ann Lee", "01/03/2021"},
		[]string{"u2", "Bob Stone-Martin", "15/11/2022"},
	)
	hr.Set("HR_Members", []string{"Team", "User"}, []string{"ops", "u1"})
	if err := syncOnce(ctx, engine, hr, "next day", out); err != nil {
		return err
	}

	bob, _ := repo.Get("HR_User", "u2")
	_, cid := repo.Get("HR_User", "u3")
	fp, err := repo.Fingerprint(ctx, "HR")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "HR_User u2: %s, hired %s, version %d\n", bob.Props["name"], bob.Props["hired"], bob.Version)
	fmt.Fprintf(out, "HR_User u3 stored: %v; ops has u1: %v; fingerprint of HR: %s\n", cid, repo.HasLink("HR_Members", "ops", "u1"), strings.Replace(fp, repo.id, "<repo>", 1))
	return nil
}

// syncOnce runs the connector and prints what changed.
func syncOnce(ctx context.Context, engine *idsync.Engine, conn *memconn.Connector, title string, out io.Writer) error {
	run, err := engine.Run(ctx, conn, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s\n", title, run.State)
	for _, e := range run.EntityTypes {
		fmt.Fprintf(out, "  %-10s %d inserted, %d updated, %d deleted\n", e.Name, e.Inserted, e.Updated, e.Deleted)
	}
	for _, a := range run.Associations {
		fmt.Fprintf(out, "  %-10s %d inserted, %d deleted\n", a.Name, a.Inserted, a.Deleted)
	}
	return nil
}
