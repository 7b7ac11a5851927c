package memstore_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/storetest"
)

// harness runs the conformance kit on memstore, injecting faults with its
// FailAfter field.
type harness struct{}

func (harness) NewStore(t *testing.T) idsync.Store { return memstore.New() }

func (harness) FailAfter(s idsync.Store, n int) bool {
	s.(*memstore.Store).FailAfter(n)
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

// gatedConn holds a run inside its export until release is closed.
type gatedConn struct {
	*memconn.Connector
	entered, release chan struct{}
}

func (g *gatedConn) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	close(g.entered)
	<-g.release
	return g.Connector.Export(ctx, dir)
}

// TestEngineLockWithoutLocker: idsync.Locker's doc says that without it
// "the engine uses a lock within its own process only", and Engine's that
// "runs of one connector never overlap". But Engine.lock keeps its locks in
// a map of the Engine value: two engines of one process, on one store that
// is not a Locker, even on one work folder, run the same connector at the
// same time; both runs below block and both write the connector's
// state.json, so one blocked run is lost. Fix: key the in-process locks by
// (store, connector) in a package-level registry, or say "within one
// Engine" in the docs.
func TestEngineLockWithoutLocker(t *testing.T) {
	store := plainStore{memstore.New()}
	dir := t.TempDir()
	model := &entitytype.Model{Name: "P", EntityTypes: []entitytype.EntityType{{
		Name: "P_User", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}},
	}}}
	c := memconn.New(model)
	c.Set("P_User", []string{"ID"}, []string{"u1"})
	g := &gatedConn{Connector: c, entered: make(chan struct{}), release: make(chan struct{})}
	logger := slog.New(slog.DiscardHandler)
	e1 := idsync.New(store, &idsync.Options{WorkDir: dir, Logger: logger})
	e2 := idsync.New(store, &idsync.Options{WorkDir: dir, Logger: logger})

	first := make(chan error, 1)
	go func() {
		_, err := e1.Run(t.Context(), g, nil)
		first <- err
	}()
	<-g.entered
	_, err := e2.Run(t.Context(), c, nil)
	close(g.release)
	<-first
	if !errors.Is(err, idsync.ErrBusy) {
		t.Errorf("a run through a second engine of the same process (same store, same work folder) while the first engine runs the connector: got %v, want an error matching idsync.ErrBusy", err)
	}
}
