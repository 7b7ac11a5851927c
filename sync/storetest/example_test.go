package storetest_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/storetest"
)

// memHarness runs the kit on memstore, the in-memory reference store.
type memHarness struct{}

func (memHarness) NewStore(t *testing.T) idsync.Store { return memstore.New() }

func (memHarness) FailAfter(s idsync.Store, n int) bool {
	s.(*memstore.Store).FailAfter(n)
	return true
}

// A host's store runs the kit from a test of its own package, with a
// harness that returns a new, empty store for each clause; each clause is
// a subtest named after it.
func ExampleRun() {
	var h storetest.Harness = memHarness{}
	_ = h // in a _test.go file: func TestMyStore(t *testing.T) { storetest.Run(t, h) }

	for _, clause := range storetest.Clauses() {
		fmt.Println(clause)
	}
	// Output:
	// ApplyInsertsUpdatesDeletes
	// UnmappedPropertiesSurvive
	// ApplyIsAtomic
	// FingerprintChangesOnEveryWriteOnly
	// FingerprintIsPerStore
	// StalePlanIsRefused
	// ConflictingChangeIsRefused
	// SortedScansAreSorted
	// CountsOrderIndependent
	// ScansCanStopEarly
	// ConcurrentRunOfConnectorRefused
	// ParallelConnectors
	// StateIsKept
}

// TestDocListsEveryClause keeps the package doc true: it lists every
// clause that Run runs, in order.
func TestDocListsEveryClause(t *testing.T) {
	checkDoc(t, "storetest.go", storetest.Clauses())
}

func checkDoc(t *testing.T, file string, clauses []string) {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, at := string(src), 0
	for _, c := range clauses {
		i := strings.Index(doc[at:], "//   - "+c+" ")
		if j := strings.Index(doc[at:], "//   - "+c+":"); i < 0 || (j >= 0 && j < i) {
			i = j
		}
		if i < 0 {
			t.Errorf("the package doc of %s does not list clause %s (after the ones before it)", file, c)
			continue
		}
		at += i
	}
}
