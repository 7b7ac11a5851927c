package storetest

import (
	"errors"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/threshold"
)

// Reopener is a [Harness] that can reopen a store, as a process restarting
// opens its database again. The FingerprintIsPerStore clause then checks
// that the reopened store is the same store: same fingerprints, same
// identity, and plans made before apply after. A harness whose stores live
// and die with the value (an in-memory store) does not implement it: the
// clause then checks that fresh stores differ only, and says so with
// t.Log.
type Reopener interface {
	// Reopen closes s, a store that NewStore or Reopen returned, and
	// returns the same store opened again on the same data. The kit no
	// longer uses s.
	Reopen(t *testing.T, s idsync.Store) idsync.Store
}

// testFingerprintIsPerStore checks that every store has an identity that
// its fingerprints include: two fresh stores never give a connector the
// same fingerprint, a plan of one never applies to the other, and a
// reopened store is the same store.
func testFingerprintIsPerStore(t *testing.T, h Harness) {
	e1, e2 := newEnv(t, h), newEnv(t, h)
	a := modelA()
	for _, c := range []string{connA, connB, "KitNeverSynchronized"} {
		fp1, fp2 := e1.fingerprint(c), e2.fingerprint(c)
		if fp1 == fp2 {
			t.Errorf("two fresh stores give connector %s the same fingerprint %q: a fingerprint must include the store's identity, or a plan made against one store applies to another (Store.Fingerprint)", c, fp1)
		}
	}
	id1, id2 := identity(t, e1.store), identity(t, e2.store)
	if id1 != "" && id1 == id2 {
		t.Errorf("two fresh stores have the same identity %q (idsync.Identifier)", id1)
	}

	// A plan of store 1 is refused by store 2, through Store.Apply and
	// through Engine.Resume, and writes nothing there.
	fp2 := e2.fingerprint(connA)
	cs := e1.plan(a, dataA1())
	isStale(t, e2.store.Apply(e2.ctx, cs), "Store.Apply of a change set planned against another store")
	e2.unchanged(emptyState(), connA, fp2, "an Apply of another store's plan")
	blocking := modelA()
	blocking.Thresholds.MaxInserted = threshold.Max(1)
	blocked, err := e1.eng.Run(e1.ctx, conn(blocking, dataA1()), allowEmpty)
	if err == nil || blocked == nil || blocked.State != idsync.Blocked {
		t.Fatalf("storetest bug: the first load should be blocked by a threshold; got %v", err)
	}
	// Another engine on store 2 sharing the work folder: what a host
	// pointing a resume at the wrong store does.
	_, err = e2.engineIn(e1.dir).Resume(e2.ctx, blocked.ID, nil)
	if _, keeps := e2.store.(idsync.StateStore); keeps && errors.Is(err, idsync.ErrNotFound) {
		t.Log("Engine.Resume on another StateStore: the run's record is in store 1 only: not found")
	} else {
		isStale(t, err, "Engine.Resume, on another store, of a run blocked on store 1")
		var mismatch *idsync.StoreMismatchError
		if id1 != "" && id2 != "" && !errors.As(err, &mismatch) {
			t.Errorf("Engine.Resume on another store of two Identifiers: got %v, want a *idsync.StoreMismatchError", err)
		}
	}
	e2.unchanged(emptyState(), connA, fp2, "a Resume on another store")

	r, ok := h.(Reopener)
	if !ok {
		t.Log("the harness is no storetest.Reopener: the clause does not check that a reopened store keeps its fingerprints")
		return
	}
	// A reopened store is the same store: its fingerprints, its identity,
	// and the plans made before it was reopened.
	s := e1.step(emptyState(), a, dataA1(), "the first run")
	before := map[string]string{connA: e1.fingerprint(connA), connB: e1.fingerprint(connB)}
	pending := e1.plan(a, dataA2())
	e1.store = r.Reopen(t, e1.store)
	if e1.store == nil {
		t.Fatal("Reopener.Reopen returned nil")
	}
	e1.eng = e1.engineIn(e1.dir)
	for c, fp := range before {
		if got := e1.fingerprint(c); got != fp {
			t.Errorf("Fingerprint(%s) = %q after the store was reopened, %q before: a reopened store keeps its identity and versions", c, got, fp)
		}
	}
	if got := identity(t, e1.store); got != id1 {
		t.Errorf("Identity() = %q after the store was reopened, %q before", got, id1)
	}
	e1.expect(s, "after the store was reopened")
	if err := e1.store.Apply(e1.ctx, pending); err != nil {
		t.Errorf("Apply, on the reopened store, of a plan made before it was reopened: %v", err)
	}
	e1.expect(s.after(a, dataA2()), "after an Apply on the reopened store")
}

// identity returns the store's identity if it is an idsync.Identifier,
// or "".
func identity(t *testing.T, s idsync.Store) string {
	t.Helper()
	ider, ok := s.(idsync.Identifier)
	if !ok {
		return ""
	}
	id, err := ider.Identity(t.Context())
	if err != nil {
		t.Fatalf("Identity(): %v", err)
	}
	if id == "" {
		t.Fatal("Identity() returned \"\": an Identifier's identity is never empty")
	}
	return id
}
