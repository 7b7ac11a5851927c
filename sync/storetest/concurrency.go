package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// gatedConn is a connector whose Export signals entered and then waits for
// release: the run holding the connector's lock stays inside it.
type gatedConn struct {
	*memconn.Connector
	once    gosync.Once
	entered chan struct{}
	release chan struct{}
}

func (c *gatedConn) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	c.once.Do(func() { close(c.entered) })
	select {
	case <-c.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.Connector.Export(ctx, dir)
}

// countingConn counts the exports in progress and records the largest
// number at once.
type countingConn struct {
	*memconn.Connector
	inflight, most *atomic.Int32
}

func (c *countingConn) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	n := c.inflight.Add(1)
	defer c.inflight.Add(-1)
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Millisecond)
	return c.Connector.Export(ctx, dir)
}

func testConcurrentRunOfConnectorRefused(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := modelA()
	l, locker := e.store.(idsync.Locker)
	if locker {
		unlock, err := l.Lock(e.ctx, connA)
		if err != nil {
			t.Fatalf("Lock(%s) of a free connector: %v", connA, err)
		}
		if _, err := l.Lock(e.ctx, connA); !errors.Is(err, idsync.ErrBusy) {
			t.Errorf("Lock(%s) while it is held: got %v, want an error matching idsync.ErrBusy", connA, err)
		}
		errc := make(chan error)
		go func() {
			_, err := l.Lock(e.ctx, connA)
			errc <- err
		}()
		if err := <-errc; !errors.Is(err, idsync.ErrBusy) {
			t.Errorf("Lock(%s) from another goroutine while it is held: got %v, want an error matching idsync.ErrBusy", connA, err)
		}
		unlockB, err := l.Lock(e.ctx, connB)
		if err != nil {
			t.Errorf("Lock(%s) while %s is held: %v; connectors lock independently", connB, connA, err)
		}
		unlock()
		unlock2, err := l.Lock(e.ctx, connA)
		if err != nil {
			t.Fatalf("Lock(%s) after its unlock: %v", connA, err)
		}
		unlock2()
		if unlockB != nil {
			unlockB()
		}
	} else {
		t.Logf("the store does not implement idsync.Locker: runs of one connector exclude each other only within one process and work folder")
	}

	// A run holding the connector's lock, inside its export.
	g := &gatedConn{Connector: conn(a, dataA1()), entered: make(chan struct{}), release: make(chan struct{})}
	type result struct {
		run *idsync.Run
		err error
	}
	first := make(chan result, 1)
	go func() {
		r, err := e.eng.Run(e.ctx, g, allowEmpty)
		first <- result{r, err}
	}()
	select {
	case <-g.entered:
	case r := <-first:
		t.Fatalf("storetest bug: the gated run ended before its export: %v", r.err)
	case <-time.After(time.Minute):
		t.Fatal("storetest bug: the gated run did not start within a minute")
	}
	busy := func(eng *idsync.Engine, what string) {
		t.Helper()
		if _, err := eng.Run(e.ctx, conn(a, dataA2()), nil); !errors.Is(err, idsync.ErrBusy) {
			t.Errorf("%s while a run of %s is in progress: got %v, want an error matching idsync.ErrBusy", what, connA, err)
		}
	}
	busy(e.eng, "a run through the same engine")
	if _, err := e.eng.Plan(e.ctx, conn(a, dataA2()), nil); !errors.Is(err, idsync.ErrBusy) {
		t.Errorf("a plan through the same engine while a run of %s is in progress: got %v, want an error matching idsync.ErrBusy", connA, err)
	}
	other := e.engine()
	if locker {
		busy(e.engineIn(e.dir), "a run through another engine on the same store and work folder")
		busy(other, "a run through another engine on the same store (another work folder)")
	}
	// Other connectors run meanwhile.
	s := e.stepWith(e.eng, emptyState(), modelB(), dataB(30, 1), fmt.Sprintf("a run of %s while one of %s is in progress", connB, connA))
	s = e.stepWith(other, s, modelS(), dataS1(), fmt.Sprintf("a run of %s through another engine while one of %s is in progress", connS, connA))
	close(g.release)
	r := <-first
	if r.err != nil {
		t.Fatalf("the run that held the lock: %v", r.err)
	}
	checkRun(t, r.run)
	s = s.after(a, dataA1())
	e.expect(s, "after the run that held the lock")

	// The lock is free again, for every engine.
	s = e.step(s, a, dataA2(), "a run through the same engine after the lock was released")
	s = e.stepWith(other, s, a, dataA1(), "a run through another engine after the lock was released")

	// Many runs of one connector at once, through several engines when
	// the store is a Locker: they never overlap.
	engines := []*idsync.Engine{e.eng}
	if locker {
		engines = append(engines, other, e.engineIn(e.dir))
	}
	var inflight, most atomic.Int32
	var succeeded, refused atomic.Int32
	var wg gosync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 4 {
				d := dataA1()
				if (i+j)%2 == 1 {
					d = dataA2()
				}
				c := &countingConn{Connector: conn(a, d), inflight: &inflight, most: &most}
				r, err := engines[(i+j)%len(engines)].Run(e.ctx, c, nil)
				switch {
				case err == nil && r.State == idsync.Succeeded:
					succeeded.Add(1)
				case errors.Is(err, idsync.ErrBusy):
					refused.Add(1)
				default:
					t.Errorf("concurrent run %d.%d of %s: %v (want success or an error matching idsync.ErrBusy)", i, j, connA, err)
				}
			}
		})
	}
	wg.Wait()
	if n := most.Load(); n > 1 {
		t.Errorf("%d runs of %s were in progress at once (through %d engines): runs of one connector must never overlap", n, connA, len(engines))
	}
	if succeeded.Load() == 0 {
		t.Errorf("none of 32 concurrent runs of %s succeeded (%d refused as busy)", connA, refused.Load())
	}
	t.Logf("concurrent runs of %s through %d engines: %d succeeded, %d refused as busy", connA, len(engines), succeeded.Load(), refused.Load())
	got := e.scan(false)
	if d1, d2 := diff(s.after(a, dataA1()), got, 5), diff(s.after(a, dataA2()), got, 5); len(d1) > 0 && len(d2) > 0 {
		t.Errorf("after concurrent runs, the store holds neither snapshot of %s:\n\t%s", connA, strings.Join(append(d1, d2...), "\n\t"))
	}
}

func testParallelConnectors(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := emptyState()
	rounds := []struct {
		a, b, s dataset
		engines []*idsync.Engine
	}{
		{dataA1(), dataB(600, 1), dataS1(), []*idsync.Engine{e.eng, e.eng, e.eng}},
		{dataA2(), dataB(600, 2), dataS2(), []*idsync.Engine{e.eng, e.engine(), e.engine()}},
		{dataA1(), dataB(600, 1), dataS1(), []*idsync.Engine{e.engine(), e.eng, e.engineIn(e.dir)}},
	}
	for i, round := range rounds {
		models := []*modelData{{modelA(), round.a}, {modelB(), round.b}, {modelS(), round.s}}
		runs := make([]*idsync.Run, len(models))
		errs := make([]error, len(models))
		var wg gosync.WaitGroup
		for j, md := range models {
			wg.Go(func() { runs[j], errs[j] = round.engines[j].Run(e.ctx, conn(md.m, md.d), nil) })
		}
		// Reads in parallel with the runs.
		stop := make(chan struct{})
		var readers gosync.WaitGroup
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, typ := range kitTypes {
					for _, err := range e.store.Resources(e.ctx, typ) {
						if err != nil {
							t.Errorf("Resources(%s) during parallel runs: %v", typ.Name, err)
							return
						}
					}
				}
				for _, c := range []string{connA, connB, connS} {
					if _, err := e.store.Fingerprint(e.ctx, c); err != nil {
						t.Errorf("Fingerprint(%s) during parallel runs: %v", c, err)
						return
					}
				}
			}
		})
		wg.Wait()
		close(stop)
		readers.Wait()
		for j, md := range models {
			if errs[j] != nil {
				t.Fatalf("round %d: the run of %s in parallel with %d other connectors: %v", i+1, md.m.Name, len(models)-1, errs[j])
			}
			checkRun(t, runs[j])
			before := s
			s = s.after(md.m, md.d)
			e.checkCounts(runs[j], before, s, md.m, fmt.Sprintf("round %d, %s", i+1, md.m.Name))
		}
		e.expect(s, fmt.Sprintf("after round %d of parallel runs of %s, %s and %s", i+1, connA, connB, connS))
	}
}

type modelData struct {
	m *entitytype.Model
	d dataset
}
