package memstore_test

import (
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/storetest"
)

// harness runs the conformance kit on memstore, injecting faults with its
// FailAfter field.
type harness struct{}

func (harness) NewStore(t *testing.T) idsync.Store { return memstore.New() }

func (harness) FailAfter(s idsync.Store, n int) bool {
	s.(*memstore.Store).FailAfter = n
	return true
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness{})
}

// plainStore hides memstore's optional interfaces (SortedScanner, Locker)
// and its fault injection: the kit's fallbacks, and the engine's, run on it.
type plainStore struct{ idsync.Store }

type plainHarness struct{}

func (plainHarness) NewStore(t *testing.T) idsync.Store { return plainStore{memstore.New()} }

func (plainHarness) FailAfter(idsync.Store, int) bool { return false }

func TestConformancePlain(t *testing.T) {
	storetest.Run(t, plainHarness{})
}
