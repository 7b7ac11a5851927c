package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/sqlstore"
	"github.com/idsync/idsync/threshold"
)

var (
	_ idsync.Store         = (*sqlstore.Store)(nil)
	_ idsync.SortedScanner = (*sqlstore.Store)(nil)
	_ idsync.Locker        = (*sqlstore.Store)(nil)
)

var day1 = data{
	users: [][]string{
		{"U1", "Ann", "ann@example.com"},
		{"U2", "Bob", ""},
		{"U3", "Cid", "cid@example.com"},
	},
	groups:  [][]string{{"G1", "All"}, {"G2", "Admins"}},
	members: [][]string{{"G1", "U1"}, {"G1", "U2"}, {"G1", "U3"}, {"G2", "U3"}},
}

func TestApplyScanAndQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.fresh(t)
		m := testModel("HR")

		fp, err := s.Fingerprint(ctx, "HR")
		require.NoError(t, err)
		assert.Equal(t, fpOf(s, 0), fp, "a connector never applied")

		apply(t, s, m, day1.extraction())
		st := readState(t, s, "HR")
		assert.Equal(t, fpOf(s, 1), st.fp)
		assert.Equal(t, map[string][]string{"U1": {"U1", "Ann", "ann@example.com"}, "U2": {"U2", "Bob", ""}, "U3": {"U3", "Cid", "cid@example.com"}}, st.users)
		assert.Equal(t, []idsync.Link{{Source: "G1", Target: "U1"}, {Source: "G1", Target: "U2"}, {Source: "G1", Target: "U3"}, {Source: "G2", Target: "U3"}}, st.members)

		props, ok, err := s.Get(ctx, "User", "U2")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, map[string]string{"id": "U2", "name": "Bob"}, props, "null values are not stored")
		_, ok, err = s.Get(ctx, "User", "U9")
		require.NoError(t, err)
		assert.False(t, ok)
		_, ok, err = s.Get(ctx, "Nothing", "U1")
		require.NoError(t, err)
		assert.False(t, ok)

		page, err := s.List(ctx, "User", "", 2)
		require.NoError(t, err)
		require.Len(t, page, 2)
		assert.Equal(t, "U1", page[0].Key)
		assert.Equal(t, "Ann", page[0].Properties["name"])
		page, err = s.List(ctx, "User", page[1].Key, 2)
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, "U3", page[0].Key)

		n, err := s.Count(ctx, "User")
		require.NoError(t, err)
		assert.EqualValues(t, 3, n)
		n, err = s.LinkCount(ctx, "Members")
		require.NoError(t, err)
		assert.EqualValues(t, 4, n)

		// Browse: user → groups → users.
		groups, err := s.LinksTo(ctx, "Members", "U3")
		require.NoError(t, err)
		assert.Equal(t, []string{"G1", "G2"}, groups)
		users, err := s.LinksFrom(ctx, "Members", "G1")
		require.NoError(t, err)
		assert.Equal(t, []string{"U1", "U2", "U3"}, users)
		assocs, err := s.Associations(ctx, "User")
		require.NoError(t, err)
		assert.Equal(t, []sqlstore.Association{{Name: "Members", Source: "Group", Target: "User"}}, assocs)
		assocs, err = s.Associations(ctx, "Nothing")
		require.NoError(t, err)
		assert.Empty(t, assocs)
		types, err := s.EntityTypes(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"Group", "User"}, types)

		// Day 2: an update, a delete, an insert, link changes.
		day2 := data{
			users:   [][]string{{"U1", "Ann", "ann@new.example.com"}, {"U2", "Bob", "bob@example.com"}, {"U4", "Dan", ""}},
			groups:  [][]string{{"G1", "All"}, {"G2", "Admins"}},
			members: [][]string{{"G1", "U1"}, {"G1", "U2"}, {"G2", "U4"}},
		}
		cs := apply(t, s, m, day2.extraction())
		assert.EqualValues(t, 1, cs.EntityTypes()[0].Inserted)
		assert.EqualValues(t, 2, cs.EntityTypes()[0].Updated)
		assert.EqualValues(t, 1, cs.EntityTypes()[0].Deleted)
		st = readState(t, s, "HR")
		assert.Equal(t, fpOf(s, 2), st.fp)
		assert.Equal(t, map[string][]string{"U1": {"U1", "Ann", "ann@new.example.com"}, "U2": {"U2", "Bob", "bob@example.com"}, "U4": {"U4", "Dan", ""}}, st.users)
		assert.Equal(t, []idsync.Link{{Source: "G1", Target: "U1"}, {Source: "G1", Target: "U2"}, {Source: "G2", Target: "U4"}}, st.members)

		// The same data again: an empty change set still bumps the
		// fingerprint, like memstore.
		apply(t, s, m, day2.extraction())
		assert.Equal(t, fpOf(s, 3), readState(t, s, "HR").fp)
		fp, err = s.Fingerprint(ctx, "other")
		require.NoError(t, err)
		assert.Equal(t, fpOf(s, 0), fp, "fingerprints are per connector")
	})
}

// sameAsMemstore applies the same change sets to a memstore and a
// sqlstore and compares what they hold.
func TestSameAsMemstore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := b.fresh(t)
		mem := memstore.New()
		m := testModel("HR")
		days := []data{day1, {
			users:   [][]string{{"U1", "Ann", "ann@new.example.com"}, {"U2", "", "bob@example.com"}, {"U5", "Eve", "eve@example.com"}},
			groups:  [][]string{{"G2", "Admins!"}, {"G3", "New"}},
			members: [][]string{{"G2", "U1"}, {"G3", "U5"}, {"G2", "U5"}},
		}, {
			users:  [][]string{{"U6", "Fay", ""}},
			groups: [][]string{{"G3", "New"}},
		}}
		for i, d := range days {
			apply(t, s, m, d.extraction())
			apply(t, mem, m, d.extraction())
			want, got := readState(t, mem, "HR"), readState(t, s, "HR")
			// Fingerprints: the same versions, in two stores.
			want.fp, got.fp = want.fp[strings.LastIndex(want.fp, "/"):], got.fp[strings.LastIndex(got.fp, "/"):]
			assert.Equal(t, want, got, "day %d", i+1)
		}
	})
}

func TestBytewiseOrder(t *testing.T) {
	keys := []string{
		"a", "B", "b", "Z", "z", "é", "e\u0301", "É", "E", "ä", "ß", "日本", "日", "~", "a b", "a-b", "a_b",
		"0", "9", "10", "😀", "\u00a0x", "x\u00a0", "A\x1fB", "A\x1fb", "a\x1fB", "a\x1f", "a\x1f\x1f", "ab\x1f",
	}
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.fresh(t)
		m := &entitytype.Model{Name: "C", EntityTypes: []entitytype.EntityType{
			{Name: "Account", Key: []string{"k"}, Properties: []entitytype.Property{{Name: "k", Column: "k"}, {Name: "v", Column: "v"}}},
			{Name: "Pair", Key: []string{"a", "b"}, Properties: []entitytype.Property{{Name: "a", Column: "a"}, {Name: "b", Column: "b"}}},
		}, Associations: []entitytype.Association{{Name: "Rel",
			Source: entitytype.End{EntityType: "Account", Column: "from"}, Target: entitytype.End{EntityType: "Account", Column: "to"}}}}
		var accounts, pairs, rels [][]string
		parts := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return strings.Contains(k, entitytype.KeySep) })
		for i, k := range keys {
			accounts = append(accounts, []string{k, fmt.Sprint(i)})
			rels = append(rels, []string{k, keys[(i*7)%len(keys)]}, []string{keys[(i*3)%len(keys)], k})
		}
		for i, k := range parts {
			pairs = append(pairs, []string{k, parts[len(parts)-1-i]}, []string{k, k})
		}
		apply(t, s, m, memconn.Extraction{
			"Account": {Header: []string{"k", "v"}, Rows: accounts},
			"Pair":    {Header: []string{"a", "b"}, Rows: pairs},
			"Rel":     {Header: []string{"from", "to"}, Rows: rels},
		})
		var got []string
		for r, err := range s.SortedResources(ctx, &m.EntityTypes[0]) {
			require.NoError(t, err)
			got = append(got, r.Key)
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		assert.Equal(t, want, got)

		got = got[:0]
		for r, err := range s.SortedResources(ctx, &m.EntityTypes[1]) {
			require.NoError(t, err)
			assert.Equal(t, r.Values[0]+entitytype.KeySep+r.Values[1], r.Key)
			got = append(got, r.Key)
		}
		assert.Len(t, got, 2*len(parts)-2) // the middle pair is (k, k) twice: both rejected
		assert.True(t, slices.IsSorted(got), "composite keys in bytewise order: %q", got)

		var links []idsync.Link
		for l, err := range s.SortedLinks(ctx, &m.Associations[0]) {
			require.NoError(t, err)
			links = append(links, l)
		}
		assert.True(t, slices.IsSortedFunc(links, func(x, y idsync.Link) int {
			return strings.Compare(x.Source+"\x00"+x.Target, y.Source+"\x00"+y.Target)
		}), "links in bytewise (source, target) order")

		// A second plan of the same data, merged against the sorted
		// scans, finds nothing to do.
		cs := plan(t, s, m, memconn.Extraction{
			"Account": {Header: []string{"k", "v"}, Rows: accounts},
			"Pair":    {Header: []string{"a", "b"}, Rows: pairs},
			"Rel":     {Header: []string{"from", "to"}, Rows: rels},
		})
		assert.Zero(t, cs.Len())

		// Paging follows the same order.
		var paged []string
		after := ""
		for {
			page, err := s.List(ctx, "Account", after, 4)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				paged = append(paged, r.Key)
			}
			after = page[len(page)-1].Key
		}
		assert.Equal(t, want, paged)
	})
}

func TestValuesRoundTrip(t *testing.T) {
	values := []string{
		`quote " and backslash \ and slash /`, "new\nline\r\ttab", "unit\x1fsep", "bell\x07", "é日本😀",
		"\u2028\u2029", "<tag>&amp;", `{"json":"inside"}`, "null", " spaces ", "\u007f",
	}
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.fresh(t)
		m := testModel("HR")
		var users [][]string
		for i, v := range values {
			users = append(users, []string{fmt.Sprintf("U%02d", i), v, v + v})
		}
		apply(t, s, m, data{users: users}.extraction())
		st := readState(t, s, "HR")
		for i, v := range values {
			assert.Equal(t, []string{fmt.Sprintf("U%02d", i), v, v + v}, st.users[fmt.Sprintf("U%02d", i)])
		}
		// Updates go through json_patch / jsonb ||: same round trip.
		for i := range users {
			users[i][1], users[i][2] = users[i][2], values[(i+1)%len(values)]
		}
		apply(t, s, m, data{users: users}.extraction())
		st = readState(t, s, "HR")
		for i, u := range users {
			assert.Equal(t, u, st.users[u[0]], "user %d", i)
			props, ok, err := s.Get(ctx, "User", u[0])
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, map[string]string{"id": u[0], "name": u[1], "mail": u[2]}, props)
		}
	})
}

func TestInvalidUTF8IsRefused(t *testing.T) {
	ctx := context.Background()
	s := sqliteBackend.fresh(t)
	// Prepare refuses invalid UTF-8 itself; a Put is the way in.
	err := s.Put(ctx, "HR", "User", "U1", map[string]string{"name": "bad \xff"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UTF-8")
	_, ok, err := s.Get(ctx, "User", "U1")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestUpdateSetsOnlyListedProperties(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.fresh(t)
		m := testModel("HR")
		apply(t, s, m, day1.extraction())
		// A property that no mapping covers, written by the host.
		props, _, err := s.Get(ctx, "User", "U1")
		require.NoError(t, err)
		props["badge"] = "B-17"
		require.NoError(t, s.Put(ctx, "host", "User", "U1", props))

		d := day1
		d.users = [][]string{{"U1", "Ann", ""}, {"U2", "Bobby", ""}, {"U3", "Cid", "cid@example.com"}}
		cs := apply(t, s, m, d.extraction())
		assert.EqualValues(t, 2, cs.EntityTypes()[0].Updated)
		props, _, err = s.Get(ctx, "User", "U1")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"id": "U1", "name": "Ann", "badge": "B-17"}, props, "mail set to null, badge untouched")
		props, _, err = s.Get(ctx, "User", "U2")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"id": "U2", "name": "Bobby"}, props)
	})
}

// staleCases builds change sets planned against day1 that another
// connector's writes make stale; each also inserts many users first, so
// that batches are written before the stale change is met.
func TestStalePlan(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := testModel("HR")
		other := testModel("OTHER")
		many := manyUsers("N", 3000) // keys N... sort before U...
		with := func(d data, users ...[]string) data {
			d.users = append(slices.Clone(many), users...)
			return d
		}
		cases := []struct {
			name   string
			key    string // named by the error
			plan   data   // HR's extraction, planned against day1
			change data   // OTHER's extraction, applied after planning
			put    bool   // or OTHER puts U4
		}{
			{name: "insert of stored key", key: "U4", plan: with(day1, append(slices.Clone(day1.users), []string{"U4", "Dan", ""})...), put: true},
			{name: "update of missing key", key: "U2", plan: with(day1, []string{"U1", "Ann", "ann@example.com"}, []string{"U2", "Bob", "new@example.com"}, []string{"U3", "Cid", "cid@example.com"}),
				change: data{users: [][]string{{"U1", "Ann", "ann@example.com"}, {"U3", "Cid", "cid@example.com"}}, groups: day1.groups, members: [][]string{{"G1", "U1"}, {"G1", "U3"}, {"G2", "U3"}}}},
			{name: "delete of missing key", key: "U2", plan: with(day1, []string{"U1", "Ann", "ann@example.com"}, []string{"U3", "Cid", "cid@example.com"}),
				change: data{users: [][]string{{"U1", "Ann", "ann@example.com"}, {"U3", "Cid", "cid@example.com"}}, groups: day1.groups, members: [][]string{{"G1", "U1"}, {"G1", "U3"}, {"G2", "U3"}}}},
			{name: "insert of stored link", key: "G2", plan: data{users: day1.users, groups: day1.groups, members: append(slices.Clone(day1.members), []string{"G2", "U1"})},
				change: data{users: day1.users, groups: day1.groups, members: append(slices.Clone(day1.members), []string{"G2", "U1"})}},
			{name: "delete of missing link", key: "G1", plan: data{users: day1.users, groups: day1.groups, members: day1.members[1:]},
				change: data{users: day1.users, groups: day1.groups, members: day1.members[1:]}},
		}
		for _, c := range cases {
			t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
				s := b.fresh(t)
				apply(t, s, m, day1.extraction())
				cs := plan(t, s, m, c.plan.extraction())
				if c.put {
					require.NoError(t, s.Put(ctx, "OTHER", "User", "U4", map[string]string{"id": "U4"}))
				} else {
					apply(t, s, other, c.change.extraction())
				}
				before := readState(t, s, "HR")
				err := s.Apply(ctx, cs)
				require.ErrorIs(t, err, idsync.ErrStalePlan)
				assert.Contains(t, err.Error(), "sqlstore: ")
				assert.Contains(t, err.Error(), c.key)
				t.Log(err)
				assert.Equal(t, before, readState(t, s, "HR"), "nothing written")
			})
		}

		t.Run("fingerprint changed", func(t *testing.T) {
			s := b.fresh(t)
			cs1 := plan(t, s, m, day1.extraction())
			cs2 := plan(t, s, m, with(day1).extraction())
			require.NoError(t, s.Apply(ctx, cs1))
			before := readState(t, s, "HR")
			err := s.Apply(ctx, cs2)
			require.ErrorIs(t, err, idsync.ErrStalePlan)
			assert.Equal(t, before, readState(t, s, "HR"))
			// Applying twice is stale too.
			require.ErrorIs(t, s.Apply(ctx, cs1), idsync.ErrStalePlan)
			// A host's write changes the fingerprint.
			cs3 := plan(t, s, m, day1.extraction())
			require.NoError(t, s.Put(ctx, "HR", "User", "U9", nil))
			require.ErrorIs(t, s.Apply(ctx, cs3), idsync.ErrStalePlan)
		})
	})
}

func TestFailAfterRollsBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		url := b.url(t)
		s := b.open(t, url, nil)
		m := testModel("HR")
		apply(t, s, m, day1.extraction())
		d := data{users: append(manyUsers("N", 5000), day1.users[0]), groups: day1.groups, members: [][]string{{"G1", "N000001"}, {"G1", "U1"}, {"G2", "N000002"}}}
		cs := plan(t, s, m, d.extraction())
		before := readState(t, s, "HR")
		for _, n := range []int{1, 1000, 4999, 5003} {
			failing := b.open(t, url, &sqlstore.Options{FailAfter: n})
			err := failing.Apply(ctx, cs)
			require.Error(t, err, "FailAfter %d", n)
			assert.Contains(t, err.Error(), "injected")
			assert.Equal(t, before, readState(t, s, "HR"), "FailAfter %d: nothing written", n)
		}
		require.NoError(t, s.Apply(ctx, cs))
		after := readState(t, s, "HR")
		assert.Len(t, after.users, 5001)
		assert.Len(t, after.members, 3)
	})
}

// cancelAfter is a context that cancels itself when its Done or Err
// methods have been called n times: at some point during an Apply.
type cancelAfter struct {
	context.Context
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) tick() {
	if c.n.Add(-1) == 0 {
		c.cancel()
	}
}

func (c *cancelAfter) Done() <-chan struct{} { c.tick(); return c.Context.Done() }
func (c *cancelAfter) Err() error            { c.tick(); return c.Context.Err() }

func TestCancelRollsBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := testModel("HR")
		d := data{users: manyUsers("N", 10000), groups: day1.groups}
		cancelled := 0
		for _, n := range []int64{0, 1, 2, 5, 20, 100, 1000} {
			s := b.fresh(t)
			apply(t, s, m, day1.extraction())
			cs := plan(t, s, m, d.extraction())
			before := readState(t, s, "HR")
			ctx, cancel := context.WithCancel(context.Background())
			c := &cancelAfter{Context: ctx, cancel: cancel}
			c.n.Store(n)
			if n == 0 {
				cancel()
			}
			err := s.Apply(c, cs)
			if err != nil {
				assert.ErrorIs(t, err, context.Canceled, "cancelled after %d calls", n)
				assert.Equal(t, before, readState(t, s, "HR"), "cancelled after %d calls: nothing written", n)
				cancelled++
			} else {
				assert.Len(t, readState(t, s, "HR").users, 10000, "not cancelled after %d calls: all written", n)
			}
			cancel()
		}
		assert.Greater(t, cancelled, 2)
	})
}

func TestScansStream(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.fresh(t)
		m := testModel("HR")
		apply(t, s, m, data{users: manyUsers("U", 20000), groups: day1.groups}.extraction())
		// Stopping early releases the connection.
		n := 0
		for _, err := range s.SortedResources(ctx, &m.EntityTypes[0]) {
			require.NoError(t, err)
			if n++; n == 10 {
				break
			}
		}
		assert.Zero(t, s.DB().Stats().InUse)
		// A cancelled context ends the scan with its error.
		cctx, cancel := context.WithCancel(ctx)
		n = 0
		var last error
		for _, err := range s.SortedResources(cctx, &m.EntityTypes[0]) {
			if err != nil {
				last = err
				break
			}
			if n++; n == 100 {
				cancel()
			}
		}
		assert.ErrorIs(t, last, context.Canceled)
		assert.Less(t, n, 20000)
		cancel()
		// A scan can run while a write transaction is open.
		cs := plan(t, s, m, data{users: manyUsers("U", 20001), groups: day1.groups}.extraction())
		next := 0
		for _, err := range s.SortedResources(ctx, &m.EntityTypes[0]) {
			require.NoError(t, err)
			if next++; next == 5 {
				require.NoError(t, s.Apply(ctx, cs))
			}
		}
		assert.Equal(t, 20000, next, "the scan reads the snapshot it began with")
	})
}

func TestLock(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		url := b.url(t)
		s1, s2 := b.open(t, url, nil), b.open(t, url, nil)
		unlock, err := s1.Lock(ctx, "HR")
		require.NoError(t, err)
		_, err = s1.Lock(ctx, "HR")
		require.ErrorIs(t, err, idsync.ErrBusy)
		_, err = s2.Lock(ctx, "HR")
		require.ErrorIs(t, err, idsync.ErrBusy, "another store (another process) is excluded")
		unlock2, err := s2.Lock(ctx, "SAB")
		require.NoError(t, err, "other connectors are free")
		unlock()
		unlock() // idempotent
		unlock3, err := s2.Lock(ctx, "HR")
		require.NoError(t, err)
		unlock3()
		unlock2()
		// Many at once: exactly one wins.
		var wins atomic.Int64
		var wg gosync.WaitGroup
		var unlocks []func()
		var mu gosync.Mutex
		for i := range 8 {
			wg.Go(func() {
				s := s1
				if i%2 == 1 {
					s = s2
				}
				u, err := s.Lock(ctx, "race")
				if err == nil {
					wins.Add(1)
					mu.Lock()
					unlocks = append(unlocks, u)
					mu.Unlock()
				} else {
					assert.ErrorIs(t, err, idsync.ErrBusy)
				}
			})
		}
		wg.Wait()
		assert.EqualValues(t, 1, wins.Load())
		for _, u := range unlocks {
			u()
		}
		if b.name == "postgres" {
			assert.Zero(t, s1.DB().Stats().InUse, "the lock's connection went back to the pool")
		}
	})
}

func TestPostgresLocksAreSchemaScoped(t *testing.T) {
	ctx := context.Background()
	s1, s2 := postgresBackend.fresh(t), postgresBackend.fresh(t)
	u1, err := s1.Lock(ctx, "HR")
	require.NoError(t, err)
	defer u1()
	u2, err := s2.Lock(ctx, "HR")
	require.NoError(t, err, "stores in two schemas are two repositories")
	u2()
}

func TestSchemaVersion(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		url := b.url(t)
		// Concurrent first opens all migrate, once.
		var wg gosync.WaitGroup
		for range 4 {
			wg.Go(func() {
				s, err := sqlstore.Open(ctx, url, nil)
				if assert.NoError(t, err) {
					s.Close()
				}
			})
		}
		wg.Wait()
		s := b.open(t, url, nil)
		var n, v int
		require.NoError(t, s.DB().QueryRow("SELECT count(*), max(version) FROM idsync_schema_version").Scan(&n, &v))
		assert.Equal(t, sqlstore.SchemaVersion, n)
		assert.Equal(t, sqlstore.SchemaVersion, v)

		_, err := s.DB().Exec("INSERT INTO idsync_schema_version (version, name) VALUES (99, '0099_future.sql')")
		require.NoError(t, err)
		_, err = sqlstore.Open(ctx, url, nil)
		require.ErrorIs(t, err, sqlstore.ErrSchemaTooNew)
		assert.Contains(t, err.Error(), "99")
	})
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.Mkdir("sub", 0o755))
	for _, c := range []struct{ url, file string }{
		{"sqlite:./a.db", "a.db"},
		{"sqlite:b.sqlite", "b.sqlite"},
		{"sqlite://" + filepath.Join(dir, "c.db"), "c.db"},
		{"sqlite:" + filepath.Join(dir, "d.db") + "?_pragma=cache_size(-1000)", "d.db"},
		{"file:e.db", "e.db"},
		{"file:" + filepath.Join(dir, "f.db") + "?mode=rwc", "f.db"},
		{"sub/g.db", "sub/g.db"},
		{filepath.Join(dir, "h.sqlite3"), "h.sqlite3"},
		{"odd?name#1%41.db", "odd?name#1%41.db"}, // a plain path is taken literally
	} {
		s, err := sqlstore.Open(ctx, c.url, nil)
		require.NoError(t, err, c.url)
		assert.Equal(t, sqlstore.SQLite, s.Dialect())
		apply(t, s, testModel("HR"), day1.extraction())
		require.NoError(t, s.Close())
		_, err = os.Stat(filepath.Join(dir, c.file))
		assert.NoError(t, err, "%s creates %s", c.url, c.file)
	}
	for _, bad := range []string{"mysql://x", "sqlite:", "sqlite::memory:", "file::memory:", "file:x.db?mode=memory", "idsync", "sqlite:missing/dir/x.db"} {
		_, err := sqlstore.Open(ctx, bad, nil)
		require.Error(t, err, bad)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: "), err.Error())
	}
	_, err := sqlstore.Open(ctx, "postgres://nobody:secret@127.0.0.1:1/x?connect_timeout=1", nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
}

func TestNewWithHostDB(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.fresh(t)
		// Share the store's database, as a host with its own *sql.DB does.
		s2, err := sqlstore.New(ctx, s.DB(), s.Dialect(), nil)
		require.NoError(t, err)
		apply(t, s2, testModel("HR"), day1.extraction())
		require.NoError(t, s2.Close(), "does not close the host's database")
		n, err := s.Count(ctx, "User")
		require.NoError(t, err)
		assert.EqualValues(t, 3, n)
		_, err = sqlstore.New(ctx, s.DB(), "oracle", nil)
		require.Error(t, err)
	})
}

// The engine on a sqlstore, as in sync's own tests on memstore.
func TestEngine(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.fresh(t)
		eng := idsync.New(s, &idsync.Options{WorkDir: t.TempDir()})
		conn := memconn.New(testModel("HR"))
		for name, tb := range day1.extraction() {
			conn.Set(name, tb.Header, tb.Rows...)
		}
		run, err := eng.Run(ctx, conn, nil)
		require.ErrorIs(t, err, idsync.ErrBlocked, "a first load blocks")
		var exceeded *threshold.ExceededError
		require.True(t, errors.As(err, &exceeded))
		n, err := s.Count(ctx, "User")
		require.NoError(t, err)
		assert.Zero(t, n, "a blocked run writes nothing")

		run, err = eng.Resume(ctx, run.ID, nil)
		require.NoError(t, err)
		assert.Equal(t, idsync.Succeeded, run.State)
		props, ok, err := s.Get(ctx, "User", "U1")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "Ann", props["name"])

		run, err = eng.Run(ctx, conn, nil)
		require.NoError(t, err)
		assert.Equal(t, idsync.Succeeded, run.State)
		for _, e := range run.EntityTypes {
			assert.Zero(t, e.Inserted+e.Updated+e.Deleted, e.Name)
		}

		// While another process holds the connector's lock, runs are refused.
		other := b.open(t, otherURL(t, s), nil)
		unlock, err := other.Lock(ctx, "HR")
		require.NoError(t, err)
		_, err = eng.Run(ctx, conn, nil)
		require.ErrorIs(t, err, idsync.ErrBusy)
		unlock()
	})
}

// otherURL returns a URL opening the same database as s, as another
// process would.
func otherURL(t *testing.T, s *sqlstore.Store) string {
	if s.Dialect() == sqlstore.SQLite {
		var file string
		require.NoError(t, s.DB().QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file))
		return "sqlite:" + file
	}
	var schema string
	require.NoError(t, s.DB().QueryRow("SELECT current_schema()").Scan(&schema))
	dsn := postgresDSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// A bulk load drops the reverse index of links on SQLite; LinksTo builds
// it again, and later applies maintain it.
func TestBulkLinksReverseIndex(t *testing.T) {
	ctx := context.Background()
	s := sqliteBackend.fresh(t)
	m := testModel("HR")
	hasIndex := func() bool {
		var n int
		require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'idsync_links_by_target'").Scan(&n))
		return n == 1
	}
	d := data{users: manyUsers("U", 10_001), groups: [][]string{{"G0", ""}}}
	for i := range 10 {
		d.groups = append(d.groups, []string{fmt.Sprintf("G%d", i+1), ""})
	}
	for _, u := range d.users {
		for _, g := range d.groups[1:] {
			d.members = append(d.members, []string{g[0], u[0]})
		}
	}
	apply(t, s, m, d.extraction())
	assert.False(t, hasIndex(), "100,010 links inserted into none: the index is dropped")
	groups, err := s.LinksTo(ctx, "Members", "U000042")
	require.NoError(t, err)
	assert.Equal(t, []string{"G1", "G10", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9"}, groups)
	assert.True(t, hasIndex(), "LinksTo built it")

	d.members = append(d.members, []string{"G0", "U000042"})
	apply(t, s, m, d.extraction())
	assert.True(t, hasIndex(), "a small apply keeps it")
	groups, err = s.LinksTo(ctx, "Members", "U000042")
	require.NoError(t, err)
	assert.Len(t, groups, 11)
	assert.Equal(t, "G0", groups[0])
}
