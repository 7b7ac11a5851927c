package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/threshold"
)

// step runs d with model m through the env's engine on a store holding
// before, checks the run's counts and the store's new state, and returns
// that state.
func (e *env) step(before state, m *entitytype.Model, d dataset, when string) state {
	e.t.Helper()
	return e.stepWith(e.eng, before, m, d, when)
}

func (e *env) stepWith(eng *idsync.Engine, before state, m *entitytype.Model, d dataset, when string) state {
	e.t.Helper()
	want := before.after(m, d)
	r := e.runWith(eng, m, d)
	e.checkCounts(r, before, want, m, when)
	e.expect(want, "after "+when)
	return want
}

// checkCounts checks that run r planned exactly the changes from before to
// after: a store whose scans do not return what it was given makes the
// engine plan spurious or missing changes.
func (e *env) checkCounts(r *idsync.Run, before, after state, m *entitytype.Model, when string) {
	e.t.Helper()
	for i, t := range m.EntityTypes {
		if i >= len(r.EntityTypes) || r.EntityTypes[i].Name != t.Name {
			e.t.Fatalf("storetest bug: run %s has no counts for %s", r.ID, t.Name)
		}
		got := r.EntityTypes[i]
		var ins, upd, del int64
		for k, v := range after.res[t.Name] {
			switch old, ok := before.res[t.Name][k]; {
			case !ok:
				ins++
			case !slices.Equal(old, v):
				upd++
			}
		}
		for k := range before.res[t.Name] {
			if _, ok := after.res[t.Name][k]; !ok {
				del++
			}
		}
		if got.Inserted != ins || got.Updated != upd || got.Deleted != del {
			e.t.Errorf("%s: the run planned %d inserts, %d updates, %d deletes of %s, want %d, %d, %d: the store's scans do not return exactly what was applied (hints: %v)",
				when, got.Inserted, got.Updated, got.Deleted, t.Name, ins, upd, del, got.Hints)
		}
	}
	for i, a := range m.Associations {
		got := r.Associations[i]
		var ins, del int64
		for l := range after.links[a.Name] {
			if !before.links[a.Name][l] {
				ins++
			}
		}
		for l := range before.links[a.Name] {
			if !after.links[a.Name][l] {
				del++
			}
		}
		if got.Inserted != ins || got.Deleted != del {
			e.t.Errorf("%s: the run planned %d inserts and %d deletes of %s links, want %d and %d: the store's link scans do not return exactly what was applied",
				when, got.Inserted, got.Deleted, a.Name, ins, del)
		}
	}
}

// expectProjections scans entity type typ with its properties reversed,
// with its last and first only, with none, and as an EntityType holding
// only its name (as Prepare scans the keys of a referenced entity type),
// and checks each record against want: Resources returns the values of
// the EntityType it is given, in its order, whatever the store holds
// besides.
func (e *env) expectProjections(want state, typ *entitytype.EntityType, when string) {
	e.t.Helper()
	ps := typ.Properties
	rev := slices.Clone(ps)
	slices.Reverse(rev)
	variants := [][]entitytype.Property{rev, {ps[len(ps)-1], ps[0]}, {}, nil}
	full := kitTypes[typ.Name]
	for _, props := range variants {
		v := *typ
		v.Properties = props
		if props == nil {
			// Only the name, as Prepare scans the keys of a referenced entity type.
			v = entitytype.EntityType{Name: typ.Name}
		}
		names := propNames(&v)
		pos := make([]int, len(props))
		for j, p := range props {
			pos[j] = slices.IndexFunc(full.Properties, func(q entitytype.Property) bool { return q.Name == p.Name })
		}
		got := map[string][]string{}
		for _, r := range checkRecords(e.t, "Resources", &v, e.store.Resources(e.ctx, &v), false) {
			got[r.Key] = r.Values
		}
		var problems []string
		for _, k := range slices.Sorted(maps.Keys(want.res[typ.Name])) {
			g, ok := got[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("key %s is missing", show(k)))
				continue
			}
			for j, p := range props {
				if w := want.res[typ.Name][k][pos[j]]; g[j] != w {
					problems = append(problems, fmt.Sprintf("key %s: %s = %s, want %s", show(k), p.Name, show(g[j]), show(w)))
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(got)) {
			if _, ok := want.res[typ.Name][k]; !ok {
				problems = append(problems, fmt.Sprintf("unexpected key %s", show(k)))
			}
		}
		if len(problems) > 0 {
			if len(problems) > 15 {
				problems = append(problems[:15], fmt.Sprintf("... and %d more", len(problems)-15))
			}
			e.t.Errorf("%s: Resources(%s) given the properties %q must return their values in that order:\n\t%s",
				when, typ.Name, names, strings.Join(problems, "\n\t"))
		}
	}
}

func testApplyInsertsUpdatesDeletes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := modelA()
	e.fingerprint(connA) // a store that never saw the connector has a fingerprint too

	s1 := e.step(emptyState(), a, dataA1(), "the first run of KitA (inserts)")
	for i := range a.EntityTypes {
		e.expectProjections(s1, &a.EntityTypes[i], "after the first run")
	}
	s2 := e.step(s1, a, dataA2(), "the second run of KitA (updates, deletes, inserts; link inserts and deletes)")
	for i := range a.EntityTypes {
		e.expectProjections(s2, &a.EntityTypes[i], "after the second run")
	}
	e.step(s2, a, dataA2(), "the same snapshot again (no change)")
	e.step(s2, a, dataA1(), "the first snapshot again (re-inserts, values back from null)")
}

func testUnmappedPropertiesSurvive(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a, users := modelA(), modelAUsersOnly()
	s1 := e.step(emptyState(), a, dataA1(), "the first run of KitA with its full mapping")
	// The mapping now covers id, score and name of KitA_User only: an
	// update sets those, an insert sets those (the others are null), a
	// delete deletes; the store keeps every other property, entity type
	// and association as it was.
	s2 := e.step(s1, users, dataAUsersOnly(), "a run of KitA mapping only id, score and name of KitA_User (the store must keep the other properties)")
	e.expectProjections(s2, &users.EntityTypes[0], "after the run with the smaller mapping")
	e.step(s2, a, dataA1(), "a run of KitA with its full mapping again")
}

func testApplyIsAtomic(t *testing.T, h Harness) {
	t.Run("InjectedFailure", func(t *testing.T) {
		e := newEnv(t, h)
		a := modelA()
		s1 := e.step(emptyState(), a, dataA1(), "the first run")
		fp := e.fingerprint(connA)
		cs := e.plan(a, dataA2())
		n := int(cs.Len())
		points := slices.Compact([]int{1, n / 2, n - 1})
		if !h.FailAfter(e.store, points[0]) {
			t.Logf("the harness cannot inject faults (FailAfter returned false): Apply's atomicity is checked with change sets that cannot be read to their end (UnreadableChangeSet) and with context cancellation (CancelledContext, Deadline) only")
			return
		}
		for i, k := range points {
			if i > 0 && !h.FailAfter(e.store, k) {
				t.Fatalf("FailAfter(%d) returned false after FailAfter(%d) returned true", k, points[0])
			}
			err := e.store.Apply(e.ctx, cs)
			h.FailAfter(e.store, 0)
			when := fmt.Sprintf("Apply of %d changes failing after %d writes", n, k)
			if mustFail(t, err, when) {
				t.Logf("%s: %v", when, err)
			}
			e.unchanged(s1, connA, fp, when)
			if t.Failed() {
				return
			}
		}
		e.step(s1, a, dataA2(), "a normal run after the failed Applies")
	})

	t.Run("UnreadableChangeSet", func(t *testing.T) {
		// A change set that cannot be read to its end: Apply reads and
		// writes the changes before the bad record, then must undo them.
		e := newEnv(t, h)
		a := modelA()
		s1 := e.step(emptyState(), a, dataA1(), "the first run")
		fp := e.fingerprint(connA)
		for _, which := range []string{"", "KitA_User"} {
			cs := e.plan(a, dataA2())
			name := corrupt(t, cs, which)
			err := e.store.Apply(e.ctx, cs)
			when := fmt.Sprintf("Apply of a change set whose %s changes end with a truncated record", name)
			mustFail(t, err, when)
			e.unchanged(s1, connA, fp, when)
			if t.Failed() {
				return
			}
		}
		e.step(s1, a, dataA2(), "a normal run after the failed Applies")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		e := newEnv(t, h)
		a := modelA()
		s1 := e.step(emptyState(), a, dataA1(), "the first run")
		fp := e.fingerprint(connA)
		cs := e.plan(a, dataA2())
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		if err := e.store.Apply(ctx, cs); err != nil {
			e.unchanged(s1, connA, fp, "Apply with a cancelled context")
			e.step(s1, a, dataA2(), "a normal run after the cancelled Apply")
			return
		}
		t.Logf("Apply with a cancelled context succeeded: allowed, if it applied everything")
		e.expect(s1.after(a, dataA2()), "after Apply with a cancelled context succeeded")
	})

	t.Run("CancelledMidApply", func(t *testing.T) {
		// A context that turns cancelled once the store has looked at it
		// k times (Err, Done, directly or through a database driver), for
		// growing k: it cancels Apply at every point where the store
		// checks it, in the middle of thousands of changes.
		e := newEnv(t, h)
		b := modelB()
		s1 := e.step(emptyState(), b, dataB(2000, 1), "the first run of KitB")
		fp := e.fingerprint(connB)
		cs := e.plan(b, dataB(2000, 2))
		var failed []int
		for k := 0; ; k = max(1, k*2) {
			ctx := &flipContext{Context: e.ctx, after: k, done: make(chan struct{})}
			err := e.store.Apply(ctx, cs)
			if err != nil {
				failed = append(failed, k)
				e.unchanged(s1, connB, fp, fmt.Sprintf("Apply of %d changes whose context was cancelled at its look %d at it (%v)", cs.Len(), k+1, err))
				if t.Failed() {
					return
				}
				if k > 1<<24 {
					t.Fatalf("Apply kept failing with a context cancelled after %d looks at it: %v", k, err)
				}
				continue
			}
			switch looks := ctx.looks(); {
			case looks == 0:
				t.Logf("Apply never looks at its context: this check is void")
			default:
				t.Logf("Apply of %d changes looks at its context %d times; it failed, leaving the store unchanged, when cancelled at looks %v", cs.Len(), looks, failed)
			}
			e.expect(s1.after(b, dataB(2000, 2)), fmt.Sprintf("after Apply with a context cancelled after %d looks succeeded", k))
			return
		}
	})

	t.Run("Deadline", func(t *testing.T) {
		// Deadlines from none left to a few milliseconds, on a change set
		// of thousands of changes, so that some expire while Apply writes.
		e := newEnv(t, h)
		b := modelB()
		s1 := e.step(emptyState(), b, dataB(3000, 1), "the first run of KitB")
		s2 := s1.after(b, dataB(3000, 2))
		fp := e.fingerprint(connB)
		cs := e.plan(b, dataB(3000, 2))
		var failed []string
		for _, d := range []time.Duration{0, time.Microsecond, 20 * time.Microsecond, 100 * time.Microsecond, 500 * time.Microsecond, 2 * time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
			ctx, cancel := context.WithTimeout(e.ctx, d)
			start := time.Now()
			err := e.store.Apply(ctx, cs)
			took := time.Since(start)
			cancel()
			if err != nil {
				failed = append(failed, fmt.Sprintf("%v (returned after %v)", d, took.Round(time.Microsecond)))
				e.unchanged(s1, connB, fp, fmt.Sprintf("Apply of %d changes with a deadline of %v that returned %v", cs.Len(), d, err))
				if t.Failed() {
					return
				}
				continue
			}
			t.Logf("Apply of %d changes failed with deadlines %s; it succeeded with %v, in %v", cs.Len(), strings.Join(failed, ", "), d, took.Round(time.Microsecond))
			e.expect(s2, fmt.Sprintf("after Apply with a deadline of %v succeeded", d))
			return
		}
		t.Logf("Apply of %d changes failed with every deadline: %s", cs.Len(), strings.Join(failed, ", "))
		e.step(s1, b, dataB(3000, 2), "a normal run after Applies that missed their deadlines")
	})
}

func testFingerprintChangesOnEveryWriteOnly(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := modelA()
	var seen fpSeen
	fp := e.fingerprint(connA)
	if again := e.fingerprint(connA); again != fp {
		t.Fatalf("Fingerprint(%s) of an untouched store changed from %q to %q between two calls", connA, fp, again)
	}
	seen.add(t, fp, "creating the store")

	s := e.step(emptyState(), a, dataA1(), "the first run")
	fp = e.fingerprint(connA)
	seen.add(t, fp, "the first Apply")

	// Reads of every kind leave it alone.
	e.scan(false)
	if _, ok := e.store.(idsync.SortedScanner); ok {
		e.scan(true)
	}
	e.expectProjections(s, &a.EntityTypes[0], "a scan with fewer properties")
	e.plan(a, dataA2())
	if _, err := e.eng.Plan(e.ctx, conn(blockingModel(), dataA2()), nil); err == nil {
		t.Fatal("storetest bug: the plan should exceed a threshold")
	}
	if l, ok := e.store.(idsync.Locker); ok {
		if unlock, err := l.Lock(e.ctx, connA); err == nil {
			unlock()
		}
	}
	e.fingerprint(connB)
	if got := e.fingerprint(connA); got != fp {
		t.Errorf("reads (Resources, Links, sorted scans, Plans, Lock, Fingerprint of another connector) changed Fingerprint(%s) from %q to %q: it must change with Apply only", connA, fp, got)
		fp = got
	}

	// Every successful Apply changes it, to a value it never had.
	d := dataA1().with("KitA_User", "u1", "Name", "Ann (1)")
	s = e.expectOne(s, a, d, 1, "an Apply of a single update")
	seen.add(t, e.fingerprint(connA), "an Apply of a single update")
	d = d.plus("KitA_Members", []string{"O3", "u1"})
	s = e.expectOne(s, a, d, 1, "an Apply of a single link insert")
	seen.add(t, e.fingerprint(connA), "an Apply of a single link insert")
	s = e.expectOne(s, a, d, 0, "an Apply of an empty change set")
	seen.add(t, e.fingerprint(connA), "an Apply of an empty change set (Store: \"A successful Apply changes the fingerprint\")")

	// A failed Apply does not.
	fp = e.fingerprint(connA)
	cs := e.plan(a, dataA2())
	corrupt(t, cs, "")
	mustFail(t, e.store.Apply(e.ctx, cs), "Apply of an unreadable change set")
	e.unchanged(s, connA, fp, "a failed Apply (unreadable change set)")
	if h.FailAfter(e.store, 1) {
		err := e.store.Apply(e.ctx, e.plan(a, dataA2()))
		h.FailAfter(e.store, 0)
		mustFail(t, err, "Apply failing after 1 write")
		e.unchanged(s, connA, fp, "a failed Apply (FailAfter 1)")
	}

	// Nor does a stale one.
	stale := e.plan(a, dataA2())
	s = e.expectOne(s, a, dataA1(), 2, "an Apply of one update and one link delete")
	fp = e.fingerprint(connA)
	seen.add(t, fp, "an Apply of one update and one link delete")
	isStale(t, e.store.Apply(e.ctx, stale), "Apply of a change set planned before the last Apply")
	e.unchanged(s, connA, fp, "a stale Apply")

	// Another connector's Apply changes that connector's fingerprint; it
	// may or may not change this one's, which changes with its own Apply.
	fpB := e.fingerprint(connB)
	s = e.step(s, modelB(), dataB(10, 1), "a run of another connector")
	if got := e.fingerprint(connB); got == fpB {
		t.Errorf("Fingerprint(%s) = %q before and after an Apply of %s: it must change", connB, got, connB)
	}
	fp = e.fingerprint(connA)
	e.expectOne(s, a, dataA1().with("KitA_User", "u1", "Name", "Ann (2)"), 1, "an Apply of a single update after another connector's")
	if got := e.fingerprint(connA); got == fp {
		t.Errorf("Fingerprint(%s) = %q before and after an Apply of %s that followed one of %s: it must change", connA, got, connA, connB)
	}
	if t.Failed() {
		t.Logf("fingerprints of %s:\n\t%s", connA, strings.Join(seen.order, "\n\t"))
	}
}

// expectOne runs d, which must make exactly n changes, and checks the new
// state.
func (e *env) expectOne(before state, m *entitytype.Model, d dataset, n int64, when string) state {
	e.t.Helper()
	want := before.after(m, d)
	r := e.run(m, d)
	if got := changes(r); got != n {
		e.t.Fatalf("storetest: %s: the run planned %d changes, want %d (the store's scans do not return what was applied?)", when, got, n)
	}
	e.expect(want, "after "+when)
	return want
}

// blockingModel is connector A's model with MaxDeleted 1: dataA2 exceeds it.
func blockingModel() *entitytype.Model {
	m := modelA()
	m.Thresholds.MaxDeleted = threshold.Max(1)
	return m
}

func testStalePlanIsRefused(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := modelA()
	s := e.step(emptyState(), a, dataA1(), "the first run")
	fp := e.fingerprint(connA)

	// A run blocked by a threshold keeps its change set for review.
	blocked, err := e.eng.Run(e.ctx, conn(blockingModel(), dataA2()), nil)
	if blocked == nil || blocked.State != idsync.Blocked {
		t.Fatalf("storetest bug: the run should be blocked by maxDeleted 1; got %v", err)
	}
	e.unchanged(s, connA, fp, "a blocked run")
	cs, err := blocked.ChangeSet()
	if err != nil {
		t.Fatal(err)
	}

	// The store changes meanwhile, by an Apply the engine's state does
	// not record (a complete run would also cancel the blocked one).
	changed := dataA1().with("KitA_User", "u3", "Name", "Cid")
	if err := e.store.Apply(e.ctx, e.plan(a, changed)); err != nil {
		t.Fatalf("Apply of a plan while a run is blocked: %v", err)
	}
	s = s.after(a, changed)
	e.expect(s, "after an Apply while a run is blocked")
	fp = e.fingerprint(connA)

	_, err = e.eng.Resume(e.ctx, blocked.ID, nil)
	isStale(t, err, "Engine.Resume of a run planned before the store changed")
	e.unchanged(s, connA, fp, "a refused Resume")

	isStale(t, e.store.Apply(e.ctx, cs), fmt.Sprintf("Store.Apply of a change set planned at fingerprint %q, now %q", cs.Fingerprint(), fp))
	e.unchanged(s, connA, fp, "a refused Apply")

	// A change set applies once.
	cs = e.plan(a, dataA2())
	if err := e.store.Apply(e.ctx, cs); err != nil {
		t.Fatalf("Apply of a fresh plan: %v", err)
	}
	s = s.after(a, dataA2())
	e.expect(s, "after Apply of a fresh plan")
	fp = e.fingerprint(connA)
	isStale(t, e.store.Apply(e.ctx, cs), "a second Apply of the same change set")
	e.unchanged(s, connA, fp, "a second Apply of the same change set")

	// Of concurrent Applies of one plan, exactly one succeeds: the
	// fingerprint is checked atomically with the writes. The plan holds
	// updates only, which a store checking the fingerprint apart from its
	// writes would apply twice without noticing.
	d := dataA2().with("KitA_User", "u1", "Name", "Anne (concurrent)").with("KitA_User", "U2", "Mail", "u2@example.org")
	cs = e.plan(a, d)
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	done := make(chan int)
	for i := range n {
		go func() {
			c, err := idsync.OpenChangeSet(cs.Dir())
			if err == nil {
				<-start
				err = e.store.Apply(e.ctx, c)
			}
			errs[i] = err
			done <- i
		}()
	}
	close(start)
	for range n {
		<-done
	}
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		isStale(t, err, fmt.Sprintf("concurrent Apply %d of one change set", i))
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent Applies of one change set succeeded, want exactly 1: %v", ok, n, errs)
	}
	e.expect(s.after(a, d), "after concurrent Applies of one change set")
}

func testSortedScansAreSorted(t *testing.T, h Harness) {
	e := newEnv(t, h)
	if _, ok := e.store.(idsync.SortedScanner); !ok {
		t.Skip("the store does not implement idsync.SortedScanner: the engine sorts what it scans")
	}
	// step scans with SortedResources and SortedLinks and reports every
	// key or link out of order.
	sm := modelS()
	s := e.step(emptyState(), sm, dataS1(), "the first run of KitS (keys that sort differently under a collation)")
	s = e.step(s, sm, dataS2(), "the second run of KitS (keys between the stored ones)")
	s = e.step(s, modelA(), dataA1(), "the first run of KitA")
	s = e.step(s, modelA(), dataA2(), "the second run of KitA")
	e.expectScan(s, "sorted scans", true)
	// Sorted with fewer properties too.
	ss := e.store.(idsync.SortedScanner)
	u := modelAUsersOnly().EntityTypes[0]
	keys := slices.Sorted(maps.Keys(s.res[u.Name]))
	var got []string
	for _, r := range checkRecords(t, "SortedResources", &u, ss.SortedResources(e.ctx, &u), true) {
		got = append(got, r.Key)
	}
	if !slices.Equal(got, keys) {
		t.Errorf("SortedResources(%s) with properties %v returned keys %q, want %q", u.Name, propNames(&u), got, keys)
	}
}

func testCountsOrderIndependent(t *testing.T, h Harness) {
	e := newEnv(t, h)
	b := modelB()
	s := e.step(emptyState(), b, dataB(2500, 1), "a run of 2,500 items and 2,500 links")
	s = e.step(s, b, dataB(2500, 2), "a run deleting, updating and inserting a third each")
	for name, want := range s.res {
		got := 0
		for _, err := range e.store.Resources(e.ctx, kitTypes[name]) {
			if err != nil {
				break // reported by step
			}
			got++
		}
		if got != len(want) {
			t.Errorf("Resources(%s) returned %d records, want %d", name, got, len(want))
		}
	}
	for name, want := range s.links {
		got := 0
		for _, err := range e.store.Links(e.ctx, kitAssocs[name]) {
			if err != nil {
				break
			}
			got++
		}
		if got != len(want) {
			t.Errorf("Links(%s) returned %d links, want %d", name, got, len(want))
		}
	}
}

// stopEarlyTimeout bounds the run that follows scans stopped early.
var stopEarlyTimeout = time.Minute

func testScansCanStopEarly(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.step(emptyState(), modelA(), dataA1(), "the first run of KitA")
	s = e.step(s, modelB(), dataB(1500, 1), "the first run of KitB")
	ss, sorted := e.store.(idsync.SortedScanner)
	// Scans stopped after their first record, twice, then a run: all in a
	// goroutine, as a store that leaks a lock would block them forever.
	done := make(chan error, 1)
	go func() {
		for range 2 {
			for _, typ := range kitTypes {
				for range e.store.Resources(e.ctx, typ) {
					break
				}
				if sorted {
					for range ss.SortedResources(e.ctx, typ) {
						break
					}
				}
			}
			for _, a := range kitAssocs {
				for range e.store.Links(e.ctx, a) {
					break
				}
				if sorted {
					for range ss.SortedLinks(e.ctx, a) {
						break
					}
				}
			}
		}
		_, err := e.eng.Run(e.ctx, conn(modelB(), dataB(1500, 2)), nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a run after scans that stopped early: %v", err)
		}
	case <-time.After(stopEarlyTimeout):
		t.Fatalf("scans stopped after their first record, then a run, did not finish within %v: does the store release its locks (or rows, cursors, transactions) when the consumer of a scan stops early?", stopEarlyTimeout)
	}
	e.expect(s.after(modelB(), dataB(1500, 2)), "after a run that followed scans that stopped early")
}

func testConflictingChangeIsRefused(t *testing.T, h Harness) {
	e := newEnv(t, h)
	sm, x := modelS(), modelX()
	s := e.step(emptyState(), sm, dataS1(), "the first run of KitS")
	withZZ := dataS1().plus("KitS_Key", []string{"zz", "s"})
	// KitX's snapshots: the keys of KitS with "A" changed (its update comes
	// first in key order), with or without "zz".
	xKeys := dataset{"KitS_Key": dataS1()["KitS_Key"]}.with("KitS_Key", "A", "V", "x")
	xKeysZZ := xKeys.plus("KitS_Key", []string{"zz", "x"})

	// conflict plans KitX's snapshot xd, lets KitS synchronize sd, then
	// applies KitX's plan: it conflicts with what KitS wrote, though
	// KitX's fingerprint did not change, and must fail as a whole.
	conflict := func(xd, sd dataset, change string) {
		t.Helper()
		cs := e.plan(x, xd)
		s = e.step(s, sm, sd, "a run of KitS after KitX planned")
		fp := e.fingerprint(connX)
		if cs.Fingerprint() != fp {
			t.Fatalf("storetest: Fingerprint(%s) changed from %q to %q with an Apply of %s: this clause needs fingerprints per connector", connX, cs.Fingerprint(), fp, connS)
		}
		err := e.store.Apply(e.ctx, cs)
		when := fmt.Sprintf("Apply of a change set (an update of \"A\", then %s)", change)
		if mustFail(t, err, when) {
			isStale(t, err, when)
		}
		e.unchanged(s, connX, fp, when)
	}
	conflict(xKeysZZ, withZZ, `an insert of "zz", which another connector inserted since`)
	conflict(xKeysZZ, dataS1(), `an update of "zz", which another connector deleted since`)
	s = e.step(s, sm, withZZ, "a run of KitS storing zz")
	conflict(xKeys, dataS1(), `a delete of "zz", which another connector deleted since`)
	// A plan made now applies.
	e.step(s, x, xKeys, "a run of KitX on the current state")
}
