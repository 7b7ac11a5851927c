package storetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// env is one clause's store, with an engine on it.
type env struct {
	t     *testing.T
	ctx   context.Context
	h     Harness
	store idsync.Store
	eng   *idsync.Engine
	dir   string // eng's work folder
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	s := h.NewStore(t)
	if s == nil {
		t.Fatal("Harness.NewStore returned nil")
	}
	e := &env{t: t, ctx: t.Context(), h: h, store: s}
	e.dir = t.TempDir()
	e.eng = e.engineIn(e.dir)
	if got := e.scan(false); len(diff(emptyState(), got, 10)) > 0 {
		t.Fatalf("NewStore must return an empty store; it holds:\n%s", strings.Join(diff(emptyState(), got, 10), "\n"))
	}
	return e
}

// engine returns a new engine on the store, with a work folder of its own.
func (e *env) engine() *idsync.Engine { return e.engineIn(e.t.TempDir()) }

// engineIn returns a new engine on the store, working in dir.
func (e *env) engineIn(dir string) *idsync.Engine {
	return idsync.New(e.store, &idsync.Options{WorkDir: dir, Logger: slog.New(slog.DiscardHandler)})
}

// conn returns a connector of model m holding d.
func conn(m *entitytype.Model, d dataset) *memconn.Connector {
	c := memconn.New(m)
	d.load(c)
	return c
}

// run synchronizes d with model m through the env's engine; the run must
// succeed and reject no row.
func (e *env) run(m *entitytype.Model, d dataset) *idsync.Run {
	e.t.Helper()
	return e.runWith(e.eng, m, d)
}

func (e *env) runWith(eng *idsync.Engine, m *entitytype.Model, d dataset) *idsync.Run {
	e.t.Helper()
	r, err := eng.Run(e.ctx, conn(m, d), allowEmpty)
	if err != nil {
		e.t.Fatalf("run of connector %s: %v", m.Name, err)
	}
	checkRun(e.t, r)
	return r
}

// checkRun fails t if the run is not succeeded or rejected rows: the
// kit's data are meant to be valid.
func checkRun(t testing.TB, r *idsync.Run) {
	t.Helper()
	if r.State != idsync.Succeeded && r.State != idsync.Planned {
		t.Fatalf("run %s of %s is %s (%s)", r.ID, r.Connector, r.State, r.Error)
	}
	for _, x := range r.EntityTypes {
		if x.Rejected > 0 {
			t.Fatalf("storetest bug: run of %s rejected %d rows of %s: see %s", r.Connector, x.Rejected, x.Name, r.ErrorReport)
		}
	}
	for _, x := range r.Associations {
		if x.Rejected > 0 {
			t.Fatalf("storetest bug: run of %s rejected %d links of %s: see %s", r.Connector, x.Rejected, x.Name, r.ErrorReport)
		}
	}
}

// changes returns the number of changes a run planned.
func changes(r *idsync.Run) int64 {
	var n int64
	for _, x := range r.EntityTypes {
		n += x.Inserted + x.Updated + x.Deleted
	}
	for _, x := range r.Associations {
		n += x.Inserted + x.Deleted
	}
	return n
}

// plan makes a dry run of d with model m and returns its change set,
// which the clause applies with Store.Apply itself.
func (e *env) plan(m *entitytype.Model, d dataset) *idsync.ChangeSet {
	e.t.Helper()
	r, err := e.eng.Plan(e.ctx, conn(m, d), allowEmpty)
	if err != nil {
		e.t.Fatalf("plan of connector %s: %v", m.Name, err)
	}
	checkRun(e.t, r)
	cs, err := r.ChangeSet()
	if err != nil {
		e.t.Fatalf("change set of run %s: %v", r.ID, err)
	}
	return cs
}

// scan reads the whole store: every entity type and association of
// Models, with Resources and Links, or SortedResources and SortedLinks
// when sorted. It reports a scan error, a duplicate, a record with the
// wrong number of values, and (sorted) a key out of order as test errors.
func (e *env) scan(sorted bool) state {
	e.t.Helper()
	return scanStore(e.ctx, e.t, e.store, sorted)
}

func scanStore(ctx context.Context, t testing.TB, s idsync.Store, sorted bool) state {
	t.Helper()
	out := emptyState()
	ss, _ := s.(idsync.SortedScanner)
	if sorted && ss == nil {
		t.Fatal("storetest bug: sorted scan of a store that is no SortedScanner")
	}
	for name, typ := range kitTypes {
		seq := s.Resources(ctx, typ)
		how := "Resources"
		if sorted {
			seq, how = ss.SortedResources(ctx, typ), "SortedResources"
		}
		for _, p := range checkRecords(t, how, typ, seq, sorted) {
			out.res[name][p.Key] = p.Values
		}
	}
	for name, a := range kitAssocs {
		seq := s.Links(ctx, a)
		how := "Links"
		if sorted {
			seq, how = ss.SortedLinks(ctx, a), "SortedLinks"
		}
		for _, l := range checkLinks(t, how, a.Name, seq, sorted) {
			out.links[name][l] = true
		}
	}
	return out
}

// checkRecords collects a scan of resources, reporting errors, duplicate
// keys, records whose Values do not match typ.Properties in number, and
// (sorted) keys out of bytewise order.
func checkRecords(t testing.TB, how string, typ *entitytype.EntityType, seq iter.Seq2[idsync.Record, error], sorted bool) []idsync.Record {
	t.Helper()
	var out []idsync.Record
	seen := map[string]bool{}
	for r, err := range seq {
		if err != nil {
			t.Errorf("%s(%s): %v", how, typ.Name, err)
			break
		}
		if seen[r.Key] {
			t.Errorf("%s(%s) returned key %s more than once", how, typ.Name, show(r.Key))
			continue
		}
		seen[r.Key] = true
		if len(r.Values) != len(typ.Properties) {
			t.Errorf("%s(%s) key %s: %d values for %d properties %v", how, typ.Name, show(r.Key), len(r.Values), len(typ.Properties), propNames(typ))
			r.Values = append(r.Values, make([]string, max(0, len(typ.Properties)-len(r.Values)))...)[:len(typ.Properties)]
		}
		if sorted && len(out) > 0 && out[len(out)-1].Key >= r.Key {
			t.Errorf("%s(%s): key %s after %s: not in ascending bytewise order", how, typ.Name, show(r.Key), show(out[len(out)-1].Key))
		}
		out = append(out, idsync.Record{Key: r.Key, Values: slices.Clone(r.Values)})
	}
	return out
}

func checkLinks(t testing.TB, how, name string, seq iter.Seq2[idsync.Link, error], sorted bool) []idsync.Link {
	t.Helper()
	var out []idsync.Link
	seen := map[idsync.Link]bool{}
	for l, err := range seq {
		if err != nil {
			t.Errorf("%s(%s): %v", how, name, err)
			break
		}
		if seen[l] {
			t.Errorf("%s(%s) returned link %s → %s more than once", how, name, show(l.Source), show(l.Target))
			continue
		}
		seen[l] = true
		if sorted && len(out) > 0 && compareLinks(out[len(out)-1], l) >= 0 {
			p := out[len(out)-1]
			t.Errorf("%s(%s): link %s → %s after %s → %s: not in ascending (source, target) order", how, name, show(l.Source), show(l.Target), show(p.Source), show(p.Target))
		}
		out = append(out, l)
	}
	return out
}

func propNames(t *entitytype.EntityType) []string {
	var ns []string
	for _, p := range t.Properties {
		ns = append(ns, p.Name)
	}
	return ns
}

// expect checks that the store holds exactly want, scanning it with
// Resources and Links, and also with SortedResources and SortedLinks if
// the store implements them. It returns false after reporting the
// differences.
func (e *env) expect(want state, when string) bool {
	e.t.Helper()
	ok := e.expectScan(want, when, false)
	if _, sorted := e.store.(idsync.SortedScanner); sorted && ok {
		ok = e.expectScan(want, when, true)
	}
	return ok
}

func (e *env) expectScan(want state, when string, sorted bool) bool {
	e.t.Helper()
	d := diff(want, e.scan(sorted), 25)
	if len(d) == 0 {
		return true
	}
	how := "Resources/Links"
	if sorted {
		how = "SortedResources/SortedLinks"
	}
	e.t.Errorf("%s: the store does not hold the expected state (scanned with %s):\n\t%s", when, how, strings.Join(d, "\n\t"))
	return false
}

// fingerprint returns the store's fingerprint of connector c.
func (e *env) fingerprint(c string) string {
	e.t.Helper()
	fp, err := e.store.Fingerprint(e.ctx, c)
	if err != nil {
		e.t.Fatalf("Fingerprint(%s): %v", c, err)
	}
	return fp
}

// unchanged checks that the store still holds want and that connector c's
// fingerprint is still fp.
func (e *env) unchanged(want state, c, fp, when string) {
	e.t.Helper()
	e.expect(want, when+": the store must be unchanged")
	if got := e.fingerprint(c); got != fp {
		e.t.Errorf("%s: Fingerprint(%s) = %q, want the unchanged %q", when, c, got, fp)
	}
}

// corrupt truncates the last record of the change file of table name in
// cs, or of the last table that has changes if name is "", so that
// reading cs fails after most of it was read. It returns the table.
func corrupt(t testing.TB, cs *idsync.ChangeSet, name string) string {
	t.Helper()
	var files []string
	var names []string
	for _, x := range cs.EntityTypes() {
		if x.Inserted+x.Updated+x.Deleted > 0 {
			files, names = append(files, x.File), append(names, x.Name)
		}
	}
	for _, x := range cs.Associations() {
		if x.Inserted+x.Deleted > 0 {
			files, names = append(files, x.File), append(names, x.Name)
		}
	}
	i := len(files) - 1
	if name != "" {
		i = slices.Index(names, name)
	}
	if i < 0 {
		t.Fatalf("storetest bug: no changes of %q to corrupt", name)
	}
	// A frame announcing more bytes than follow: the reader reports a
	// truncated record once it has read every record before it.
	f, err := os.OpenFile(filepath.Join(cs.Dir(), files[i]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0x7f, 'x'}); err != nil {
		t.Fatal(err)
	}
	return names[i]
}

// mustFail checks that err is an error, naming what was expected.
func mustFail(t testing.TB, err error, what string) bool {
	t.Helper()
	if err == nil {
		t.Errorf("%s: Apply returned nil, want an error", what)
		return false
	}
	return true
}

// isStale reports whether err matches ErrStalePlan, with a message.
func isStale(t testing.TB, err error, what string) {
	t.Helper()
	if !errors.Is(err, idsync.ErrStalePlan) {
		t.Errorf("%s: got error %v, want one matching idsync.ErrStalePlan", what, err)
	}
}

// fpSeen records the fingerprints of a connector, to check that each new
// one differs from all before it.
type fpSeen struct {
	seen  map[string]string // fingerprint → step that produced it
	order []string
}

func (f *fpSeen) add(t testing.TB, fp, step string) {
	t.Helper()
	if f.seen == nil {
		f.seen = map[string]string{}
	}
	if prev, ok := f.seen[fp]; ok {
		t.Errorf("after %s: fingerprint %q is the one it had after %s; a successful Apply must change it to a new value", step, fp, prev)
		return
	}
	f.seen[fp] = step
	f.order = append(f.order, fmt.Sprintf("%s: %q", step, fp))
}

// flipContext turns cancelled once Err or Done was called more than after
// times.
type flipContext struct {
	context.Context
	after int

	mu    gosync.Mutex
	calls int
	done  chan struct{}
}

func (c *flipContext) look() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls == c.after+1 {
		close(c.done)
	}
}

func (c *flipContext) looks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *flipContext) Done() <-chan struct{} {
	c.look()
	return c.done
}

func (c *flipContext) Err() error {
	c.look()
	select {
	case <-c.done:
		return context.Canceled
	default:
		return c.Context.Err()
	}
}

// allowEmpty lets the kit's runs synchronize tables that have no row: the
// kit checks stores, not the engine's guard against blank files.
var allowEmpty = &idsync.RunOptions{AllowEmpty: true}
