package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	idsync "github.com/idsync/idsync/sync"
)

func testStateIsKept(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ss, ok := e.store.(idsync.StateStore)
	if !ok {
		t.Skip("the store is no idsync.StateStore: the engine keeps its state in its work folder")
	}
	ctx := e.ctx
	if _, err := ss.LoadRun(ctx, "20260102T030405Z-Nope-00000000"); !errors.Is(err, idsync.ErrNotFound) {
		t.Errorf("LoadRun of an unknown run: %v, want an error matching idsync.ErrNotFound", err)
	}

	// Records round-trip, and list newest first (by start, then ID).
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var saved []*idsync.Run
	for i, st := range []idsync.State{idsync.Succeeded, idsync.Blocked, idsync.Failed, idsync.Succeeded, idsync.Cancelled, idsync.Planned} {
		conn := []string{connA, connB}[i%2]
		started := base.Add(time.Duration(i/2) * time.Minute) // two runs a minute: the ID breaks the tie
		r := &idsync.Run{ID: fmt.Sprintf("%s-%s-%08d", started.Format("20060102T150405Z"), conn, i), Connector: conn, Mode: idsync.Complete,
			State: st, Started: started, Error: "line 1\nline 2 «é»", Verdicts: nil}
		if err := ss.SaveRun(ctx, r); err != nil {
			t.Fatalf("SaveRun: %v", err)
		}
		saved = append(saved, r)
	}
	saved[1].State, saved[1].Ended = idsync.Cancelled, base.Add(time.Hour)
	if err := ss.SaveRun(ctx, saved[1]); err != nil {
		t.Fatalf("SaveRun of a changed record: %v", err)
	}
	for _, r := range saved {
		got, err := ss.LoadRun(ctx, r.ID)
		if err != nil {
			t.Fatalf("LoadRun(%s): %v", r.ID, err)
		}
		if a, b := recordJSON(got), recordJSON(r); a != b {
			t.Errorf("LoadRun(%s) = %s, want %s", r.ID, a, b)
		}
	}
	newest := slices.Clone(saved)
	slices.SortFunc(newest, func(a, b *idsync.Run) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return compareStrings(b.ID, a.ID)
	})
	ids := func(runs []*idsync.Run) []string {
		out := []string{}
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		what string
		q    idsync.RunQuery
	}{
		{"every run", idsync.RunQuery{}},
		{"one connector", idsync.RunQuery{Connector: connA}},
		{"two states", idsync.RunQuery{States: []idsync.State{idsync.Succeeded, idsync.Cancelled}}},
		{"a time range", idsync.RunQuery{Since: base.Add(time.Minute), Until: base.Add(2 * time.Minute)}},
		{"a limit", idsync.RunQuery{Limit: 4}},
		{"a page", idsync.RunQuery{Before: newest[1].ID, Limit: 2}},
	} {
		got, err := ss.Runs(ctx, c.q)
		if err != nil {
			t.Fatalf("Runs(%s): %v", c.what, err)
		}
		if want := ids(c.q.Select(newest)); !slices.Equal(ids(got), want) {
			t.Errorf("Runs(%s) = %v, want %v (newest first)", c.what, ids(got), want)
		}
	}
	var paged []string
	for before := ""; ; {
		page, err := ss.Runs(ctx, idsync.RunQuery{Before: before, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged, before = append(paged, ids(page)...), page[len(page)-1].ID
	}
	if !slices.Equal(paged, ids(newest)) {
		t.Errorf("pages of 4 = %v, want every run once, newest first: %v", paged, ids(newest))
	}

	// Connector states: zero at first; concurrent changes are all kept.
	if st, err := ss.ConnectorState(ctx, "KitNever"); err != nil || st != (idsync.ConnectorState{}) {
		t.Errorf("ConnectorState of a connector never run = %+v, %v, want the zero state", st, err)
	}
	var wg gosync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := ss.UpdateConnectorState(ctx, "KitCount", func(s *idsync.ConnectorState) {
				n, _ := strconv.Atoi(s.Cursor)
				s.Cursor = strconv.Itoa(n + 1)
			})
			if err != nil {
				t.Errorf("UpdateConnectorState: %v", err)
			}
		})
	}
	wg.Wait()
	if st, _ := ss.ConnectorState(ctx, "KitCount"); st.Cursor != "20" {
		t.Errorf("after 20 concurrent UpdateConnectorState that each add 1: %q, want 20: a change was lost", st.Cursor)
	}

	// A run's success commits with its changes; engines of other work
	// folders see it.
	r := e.run(modelA(), dataA1())
	st, err := ss.ConnectorState(ctx, connA)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastRun != r.ID || st.Previous != e.fingerprint(connA) || st.Running != "" {
		t.Errorf("state after a successful run: %+v, want LastRun %s, Previous %s (the store's fingerprint), nothing running", st, r.ID, e.fingerprint(connA))
	}
	if got, err := e.engine().LoadRun(ctx, r.ID); err != nil || got.State != idsync.Succeeded {
		t.Errorf("another engine's LoadRun of the run: %v, %v, want it succeeded", got, err)
	}

	// A failed Apply records no success.
	if !h.FailAfter(e.store, 1) {
		t.Log("the harness cannot inject faults: a failed ApplyRun is not checked")
		return
	}
	defer h.FailAfter(e.store, 0)
	fp := e.fingerprint(connA)
	failed, err := e.eng.Run(ctx, conn(modelA(), dataA2()), allowEmpty)
	if err == nil {
		t.Fatal("a run whose Apply fails succeeded")
	}
	after, _ := ss.ConnectorState(ctx, connA)
	if after.LastRun != r.ID || after.Previous != fp {
		t.Errorf("state after a failed Apply: %+v, want it unchanged (LastRun %s, Previous %s)", after, r.ID, fp)
	}
	if got, err := ss.LoadRun(ctx, failed.ID); err != nil || got.State == idsync.Succeeded {
		t.Errorf("record of a run whose Apply failed: %v, %v, want it not succeeded", got, err)
	}
}

func recordJSON(r *idsync.Run) string {
	b, _ := json.Marshal(r)
	return string(b)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
