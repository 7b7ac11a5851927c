package intests_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/examples/intests"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/threshold"
)

// hrModel is the model of the HR connector, with the given
// connector-level thresholds (the zero Limits means the defaults).
func hrModel(limits threshold.Limits) *entitytype.Model {
	return &entitytype.Model{
		Name:       "HR",
		Thresholds: limits,
		EntityTypes: []entitytype.EntityType{{
			Name: "HR_Person", Key: []string{"id"},
			Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "firstName", Column: "First"},
				{Name: "lastName", Column: "Last"},
				{Name: "active", Column: "Active", Type: entitytype.Bool},
				{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
			},
		}},
	}
}

// thresholdsOff switches every connector-level threshold off: a test's
// data are small and made up, and a first load must not block.
func thresholdsOff() threshold.Limits {
	return threshold.Off()
}

// header is the header of the HR_Person extraction.
var header = []string{"ID", "First", "Last", "Active", "Hired"}

// newEngine returns an engine on store, working in a temporary folder.
func newEngine(t *testing.T, store idsync.Store) *idsync.Engine {
	return idsync.New(store, &idsync.Options{WorkDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
}

// mustSync runs the connector and fails the test unless the run succeeds.
func mustSync(t *testing.T, engine *idsync.Engine, hr *memconn.Connector) *idsync.Run {
	t.Helper()
	run, err := engine.Run(t.Context(), hr, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if run.State != idsync.Succeeded {
		t.Fatalf("run %s is %s, want succeeded", run.ID, run.State)
	}
	return run
}

// mustProvision calls the feature under test.
func mustProvision(t *testing.T, store idsync.Store) []intests.Mailbox {
	t.Helper()
	boxes, err := intests.ProvisionEmails(t.Context(), store)
	if err != nil {
		t.Fatal(err)
	}
	return boxes
}

func TestProvisionEmails(t *testing.T) {
	store := memstore.New()
	engine := newEngine(t, store)
	hr := memconn.New(hrModel(thresholdsOff()))

	// Day 1: three people, one of them inactive.
	hr.Set("HR_Person", header,
		[]string{"p1", "Ann", "Lee", "yes", "02/01/2024"},
		[]string{"p2", "Bob", "Stone", "yes", "15/11/2022"},
		[]string{"p3", "Cid", "Moreau", "no", "30/06/2019"},
	)
	mustSync(t, engine, hr)

	// The store holds canonical values: dates in ISO 8601, "true"/"false".
	if n := store.Count("HR_Person"); n != 3 {
		t.Errorf("store holds %d people, want 3", n)
	}
	if p1 := store.Get("HR_Person", "p1"); p1["hired"] != "2024-01-02" || p1["active"] != "true" {
		t.Errorf("p1 = %v, want hired 2024-01-02 and active true", p1)
	}
	want := []intests.Mailbox{{"p1", "ann.lee@example.com"}, {"p2", "bob.stone@example.com"}}
	if got := mustProvision(t, store); !slices.Equal(got, want) {
		t.Errorf("day 1: ProvisionEmails = %v, want %v", got, want)
	}

	// Day 2: Bob leaves, Cid is gone from HR, a second Ann Lee is hired.
	hr.Set("HR_Person", header,
		[]string{"p1", "Ann", "Lee", "yes", "02/01/2024"},
		[]string{"p2", "Bob", "Stone", "no", "15/11/2022"},
		[]string{"p4", "Ann", "Lee", "yes", "01/09/2025"},
	)
	run := mustSync(t, engine, hr)

	// The run's counts...
	c := run.EntityTypes[0]
	if c.Inserted != 1 || c.Updated != 1 || c.Deleted != 1 || c.Unchanged != 1 {
		t.Errorf("day 2: %d inserted, %d updated, %d deleted, %d unchanged, want 1 of each", c.Inserted, c.Updated, c.Deleted, c.Unchanged)
	}
	// ...and its change set, in key order, with old → new values.
	cs, err := run.ChangeSet()
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for ch, err := range cs.Resources("HR_Person") {
		if err != nil {
			t.Fatal(err)
		}
		s := ch.Op.String() + " " + ch.Key
		if ch.Op == idsync.Update {
			for _, p := range ch.Props {
				s += fmt.Sprintf(" %s: %s → %s", p.Name, p.Old, p.New)
			}
		}
		changes = append(changes, s)
	}
	wantChanges := []string{"update p2 active: true → false", "delete p3", "insert p4"}
	if !slices.Equal(changes, wantChanges) {
		t.Errorf("day 2 changes:\n%q\nwant:\n%q", changes, wantChanges)
	}

	want = []intests.Mailbox{{"p1", "ann.lee@example.com"}, {"p4", "ann.lee2@example.com"}}
	if got := mustProvision(t, store); !slices.Equal(got, want) {
		t.Errorf("day 2: ProvisionEmails = %v, want %v", got, want)
	}
}

// TestFirstLoadBlocks keeps the default thresholds: any insert into an
// empty store is more than 5 % of it, so the first load blocks for
// review, writes nothing, and Resume applies it.
func TestFirstLoadBlocks(t *testing.T) {
	store := memstore.New()
	engine := newEngine(t, store)
	hr := memconn.New(hrModel(threshold.Limits{}))
	hr.Set("HR_Person", header, []string{"p1", "Ann", "Lee", "yes", "02/01/2024"})

	run, err := engine.Run(t.Context(), hr, nil)
	if !errors.Is(err, idsync.ErrBlocked) {
		t.Fatalf("first load: got %v, want an error matching idsync.ErrBlocked", err)
	}
	// The error says which rule stopped the run, for a person to review.
	var exceeded *threshold.ExceededError
	if !errors.As(err, &exceeded) || exceeded.Verdicts[0].Rule != "maxPercentInserted" {
		t.Errorf("first load: %v, want it blocked by maxPercentInserted", err)
	}
	if run.State != idsync.Blocked || store.Count("HR_Person") != 0 {
		t.Fatalf("after a blocked run: state %s, %d people stored, want blocked and 0", run.State, store.Count("HR_Person"))
	}
	if id, _ := engine.BlockedRun(context.Background(), "HR"); id != run.ID {
		t.Errorf("BlockedRun(HR) = %q, want %q", id, run.ID)
	}

	run, err = engine.Resume(t.Context(), run.ID, nil)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if run.State != idsync.Succeeded || store.Count("HR_Person") != 1 {
		t.Errorf("after resume: state %s, %d people stored, want succeeded and 1", run.State, store.Count("HR_Person"))
	}
	if got := mustProvision(t, store); len(got) != 1 || got[0].Address != "ann.lee@example.com" {
		t.Errorf("ProvisionEmails = %v after resume", got)
	}
}
