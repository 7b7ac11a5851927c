package sync_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// world is a random snapshot of the SAB model over a fixed universe of
// keys, where links and references may name resources that the snapshot
// lacks (they vanished, or never were).
type world struct {
	users  map[string][]string // key → Name, HireDate, Active, Org (raw)
	orgs   []string
	groups []string
	links  map[[2]string]bool // group, user
}

var (
	userKeys  = []string{"U1", "U2", "U3", "U4", "U5", "U6"}
	orgKeys   = []string{"O1", "O2", "O3"}
	groupKeys = []string{"G1", "G2", "G3"}
)

func genWorld(t *rapid.T, label string) world {
	w := world{users: map[string][]string{}, links: map[[2]string]bool{}}
	w.orgs = rapid.SliceOfDistinct(rapid.SampledFrom(orgKeys), rapid.ID[string]).Draw(t, label+"orgs")
	w.groups = rapid.SliceOfDistinct(rapid.SampledFrom(groupKeys), rapid.ID[string]).Draw(t, label+"groups")
	for _, k := range rapid.SliceOfDistinct(rapid.SampledFrom(userKeys), rapid.ID[string]).Draw(t, label+"users") {
		w.users[k] = []string{
			rapid.SampledFrom([]string{"Ann", "Bob", ""}).Draw(t, label+"name"),
			fmt.Sprintf("%02d/01/2024", rapid.IntRange(1, 2).Draw(t, label+"day")),
			rapid.SampledFrom([]string{"Y", "N"}).Draw(t, label+"active"),
			rapid.SampledFrom(append([]string{""}, orgKeys...)).Draw(t, label+"org"),
		}
	}
	for _, g := range groupKeys {
		for _, u := range userKeys {
			if rapid.IntRange(0, 2).Draw(t, label+"link") == 0 {
				w.links[[2]string{g, u}] = true
			}
		}
	}
	return w
}

// userRow is the raw row of user k with values v.
func userRow(k string, v []string) []string { return append([]string{k}, v...) }

func (w world) load(c *memconn.Connector) {
	var users [][]string
	for _, k := range slices.Sorted(maps.Keys(w.users)) {
		users = append(users, userRow(k, w.users[k]))
	}
	c.Set("SAB_User", userHeader, users...)
	var orgs, groups, links [][]string
	for _, o := range w.orgs {
		orgs = append(orgs, []string{o, "org " + o})
	}
	for _, g := range w.groups {
		groups = append(groups, []string{g, "group " + g})
	}
	for _, l := range slices.SortedFunc(maps.Keys(w.links), func(a, b [2]string) int { return slices.Compare(a[:], b[:]) }) {
		links = append(links, []string{l[0], l[1]})
	}
	c.Set("SAB_Org", []string{"Code", "Label"}, orgs...)
	c.Set("SAB_Group", []string{"GroupID", "Name"}, groups...)
	c.Set("SAB_Members", []string{"GroupID", "UserID"}, links...)
}

// dump is everything a memstore holds of the SAB model's universe.
func dump(s *memstore.Store) map[string]string {
	out := map[string]string{}
	for _, k := range userKeys {
		if v := s.Get("SAB_User", k); v != nil {
			out["user "+k] = fmt.Sprint(v)
		}
		for _, g := range groupKeys {
			if s.HasLink("SAB_Members", g, k) {
				out["link "+g+" "+k] = "yes"
			}
		}
	}
	for _, k := range orgKeys {
		if v := s.Get("SAB_Org", k); v != nil {
			out["org "+k] = fmt.Sprint(v)
		}
	}
	for _, k := range groupKeys {
		if v := s.Get("SAB_Group", k); v != nil {
			out["group "+k] = fmt.Sprint(v)
		}
	}
	return out
}

var allowAll = &idsync.RunOptions{AllowEmpty: true}

// TestIncrementalFromPreviousEqualsComplete checks, for any two snapshots,
// that an incremental run of the second, diffed against the previous
// prepared snapshot, leaves the store exactly as a complete run of it
// would: deletes of resources that vanished, with the links to them.
func TestIncrementalFromPreviousEqualsComplete(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		a, b := genWorld(t, "a"), genWorld(t, "b")
		stores := map[idsync.Mode]*memstore.Store{}
		for _, mode := range []idsync.Mode{idsync.Complete, idsync.Incremental} {
			store := memstore.New()
			eng := idsync.New(store, &idsync.Options{WorkDir: tempDir(t)})
			conn := memconn.New(open(sabModel()))
			a.load(conn)
			if _, err := eng.Run(ctx, conn, allowAll); err != nil {
				t.Fatalf("load a: %v", err)
			}
			b.load(conn)
			if _, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: mode, AllowEmpty: true}); err != nil {
				t.Fatalf("%s run of b: %v", mode, err)
			}
			stores[mode] = store
		}
		complete, incremental := dump(stores[idsync.Complete]), dump(stores[idsync.Incremental])
		if !maps.Equal(complete, incremental) {
			for _, k := range slices.Sorted(maps.Keys(mergeStrings(complete, incremental))) {
				if complete[k] != incremental[k] {
					t.Errorf("%s: complete %q, incremental %q", k, complete[k], incremental[k])
				}
			}
			t.FailNow()
		}
	})
}

func mergeStrings(a, b map[string]string) map[string]string {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

// The ways a user row can be rejected with its key known, and the rows
// each makes.
var rejections = map[string]func(k string, v []string) [][]string{
	"duplicateKey": func(k string, v []string) [][]string {
		return [][]string{userRow(k, v), userRow(k, []string{"Dup", v[1], v[2], v[3]})}
	},
	"invalidValue": func(k string, v []string) [][]string {
		return [][]string{userRow(k, []string{v[0], "31/02/2024", v[2], v[3]})}
	},
	"missingReference": func(k string, v []string) [][]string { return [][]string{userRow(k, []string{v[0], v[1], v[2], "O9"})} },
}

// TestRejectedRowsProtectTheirKeys checks, for every reason a row with a
// key can be rejected, in snapshots and in deltas, that the error report
// names the key and that the run leaves the stored resource and all its
// links exactly as they were.
func TestRejectedRowsProtectTheirKeys(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		a, b := genWorld(t, "a"), genWorld(t, "b")
		a.orgs, b.orgs = orgKeys, orgKeys // every reference of a valid row resolves
		store := memstore.New()
		eng := idsync.New(store, &idsync.Options{WorkDir: tempDir(t)})
		conn := memconn.New(open(sabModel()))
		a.load(conn)
		if _, err := eng.Run(ctx, conn, allowAll); err != nil {
			t.Fatalf("load a: %v", err)
		}
		before := dump(store)

		delta := rapid.Bool().Draw(t, "delta")
		reasons := slices.Sorted(maps.Keys(rejections))
		if delta {
			reasons = append(reasons, "badCommand")
		}
		rejected := map[string]string{} // key → reason
		for _, k := range rapid.SliceOfDistinct(rapid.SampledFrom(userKeys), rapid.ID[string]).Draw(t, "rejected") {
			rejected[k] = rapid.SampledFrom(reasons).Draw(t, "reason")
		}
		rowsOf := func(k string, v []string, op string) [][]string {
			var rows [][]string
			switch r := rejected[k]; r {
			case "":
				rows = [][]string{userRow(k, v)}
			case "badCommand":
				rows, op = [][]string{userRow(k, v)}, "frobnicate"
			default:
				rows = rejections[r](k, v)
			}
			if delta {
				for i := range rows {
					rows[i] = append([]string{op}, rows[i]...)
				}
			}
			return rows
		}
		if !delta {
			var users [][]string
			for _, k := range userKeys {
				v, ok := b.users[k]
				if !ok && rejected[k] == "" {
					continue // absent: deleted, unless protected
				}
				if !ok {
					v = []string{"Zed", "01/01/2024", "Y", "O1"}
				}
				users = append(users, rowsOf(k, v, "")...)
			}
			b.load(conn)
			conn.Set("SAB_User", userHeader, users...)
			if _, err := eng.Run(ctx, conn, allowAll); err != nil {
				t.Fatalf("complete run: %v", err)
			}
		} else {
			changes := &deltaConn{Connector: conn}
			var users, links [][]string
			for _, k := range userKeys {
				op := rapid.SampledFrom([]string{"", "update", "merge", "delete", "insert"}).Draw(t, "op")
				if op == "" && rejected[k] == "" {
					continue
				}
				if op == "delete" && rejected[k] == "missingReference" {
					op = "update" // a delete checks no reference
				}
				v := []string{"Zed", "01/01/2024", "N", "O2"}
				users = append(users, rowsOf(k, v, op)...)
			}
			for _, g := range groupKeys {
				for _, u := range userKeys {
					if op := rapid.SampledFrom([]string{"", "", "insert", "delete"}).Draw(t, "linkOp"); op != "" {
						links = append(links, []string{op, g, u})
					}
				}
			}
			changes.tables = memconn.Extraction{
				"SAB_User":    {Header: append([]string{"Op"}, userHeader...), Rows: users, Command: "Op"},
				"SAB_Org":     {Header: []string{"Op", "Code", "Label"}, Command: "Op"},
				"SAB_Group":   {Header: []string{"Op", "GroupID", "Name"}, Command: "Op"},
				"SAB_Members": {Header: []string{"Op", "GroupID", "UserID"}, Rows: links, Command: "Op"},
			}
			if _, err := eng.Run(ctx, changes, &idsync.RunOptions{Mode: idsync.Incremental}); err != nil {
				t.Fatalf("incremental run: %v", err)
			}
		}
		after := dump(store)
		runs, err := eng.Runs(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		report, err := idsync.ReadReport(filepath.Join(filepath.Dir(runs[0].ErrorReport), idsync.ReportJSONL))
		if err != nil {
			t.Fatal(err)
		}
		for k, reason := range rejected {
			if !slices.ContainsFunc(report, func(r idsync.Rejection) bool { return r.Name == "SAB_User" && r.Key == k }) {
				t.Errorf("%s rejected (%s) but the error report does not name it: %+v", k, reason, report)
			}
			for _, what := range []string{"user " + k, "link G1 " + k, "link G2 " + k, "link G3 " + k} {
				if before[what] != after[what] {
					t.Errorf("%s, rejected (%s, delta %v), changed: %q before, %q after", what, reason, delta, before[what], after[what])
				}
			}
		}
	})
}

// deltaConn is a connector whose incremental export returns tables of
// changes; its complete export is its memconn's.
type deltaConn struct {
	*memconn.Connector
	tables memconn.Extraction
	since  []string // the cursors ExportChanges was given
	cursor string   // returned by the complete export, if set
}

func (c *deltaConn) ExportChanges(ctx context.Context, dir, since string) (connector.Extraction, string, error) {
	c.since = append(c.since, since)
	return c.tables, fmt.Sprintf("after-%d", len(c.since)), nil
}

func (c *deltaConn) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	ext, err := c.Connector.Export(ctx, dir)
	if err != nil {
		return nil, err
	}
	if c.cursor == "" {
		return ext.(*memconn.Snapshot).Extraction, nil // no cursor
	}
	return cursorExtraction{ext, c.cursor}, nil
}

type cursorExtraction struct {
	connector.Extraction
	cursor string
}

func (c cursorExtraction) Cursor() string { return c.cursor }

// TestDeltaNeverDeletesByAbsence: a delta names only what changed; the
// keys and links it does not mention stay, and a complete run refuses it.
func TestDeltaNeverDeletesByAbsence(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := &deltaConn{Connector: memconn.New(open(sabModel()))}
	day1(conn.Connector)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	before := dump(store)

	conn.tables = memconn.Extraction{
		"SAB_User": {Header: append([]string{"Op"}, userHeader...), Command: "Op",
			Rows: [][]string{{"update", "U1", "Ann B", "02/01/2024", "Y", "O1"}}},
		"SAB_Org":     {Header: []string{"Op", "Code", "Label"}, Command: "Op"},
		"SAB_Group":   {Header: []string{"Op", "GroupID", "Name"}, Command: "Op"},
		"SAB_Members": {Header: []string{"Op", "GroupID", "UserID"}, Command: "Op"},
	}
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental, AllowEmpty: true})
	require.NoError(t, err)
	after := dump(store)
	assert.Equal(t, "Ann B", store.Get("SAB_User", "U1")["name"])
	delete(before, "user U1")
	delete(after, "user U1")
	assert.Equal(t, before, after, "what the delta does not mention is unchanged")

	// A complete run of the same delta is refused before any write.
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Extraction: conn.tables, AllowEmpty: true})
	require.ErrorIs(t, err, idsync.ErrDeltaInComplete)
	assert.ErrorContains(t, err, "SAB.SAB_User")
	assert.Equal(t, 3, store.Count("SAB_User"))
}

// TestCompleteRunSetsCursor: after a complete run, incremental exports
// start from the complete export's cursor, or from none, never from the
// cursor of changes the snapshot already holds.
func TestCompleteRunSetsCursor(t *testing.T) {
	ctx := context.Background()
	eng, _ := newEngine(t)
	conn := &deltaConn{Connector: memconn.New(open(sabModel()))}
	day1(conn.Connector)
	conn.tables = memconn.Extraction{
		"SAB_User":    {Header: append([]string{"Op"}, userHeader...), Command: "Op"},
		"SAB_Org":     {Header: []string{"Op", "Code", "Label"}, Command: "Op"},
		"SAB_Group":   {Header: []string{"Op", "GroupID", "Name"}, Command: "Op"},
		"SAB_Members": {Header: []string{"Op", "GroupID", "UserID"}, Command: "Op"},
	}
	incremental := &idsync.RunOptions{Mode: idsync.Incremental, AllowEmpty: true}
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	_, err = eng.Run(ctx, conn, incremental)
	require.NoError(t, err)
	_, err = eng.Run(ctx, conn, incremental)
	require.NoError(t, err)
	conn.cursor = "snapshot-7"
	_, err = eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	_, err = eng.Run(ctx, conn, incremental)
	require.NoError(t, err)
	conn.cursor = ""
	_, err = eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	_, err = eng.Run(ctx, conn, incremental)
	require.NoError(t, err)
	assert.Equal(t, []string{"", "after-1", "snapshot-7", ""}, conn.since)
}

// TestIncrementalJobSkipsBlockedConnector: an incremental job leaves a
// connector with a blocked run out, as it does a deactivated one, with
// the reason, and goes on with the others.
func TestIncrementalJobSkipsBlockedConnector(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	blockedConn := memconn.New(sabModel()) // default thresholds: a first load blocks
	day1(blockedConn)
	run, err := eng.Run(ctx, blockedConn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)

	other := open(sabModel())
	other.Name = "HR"
	for i := range other.EntityTypes {
		other.EntityTypes[i].Name = "HR" + other.EntityTypes[i].Name[3:]
	}
	other.EntityTypes[0].Properties[4].Target = "HR_Org"
	other.Associations[0].Name = "HR_Members"
	other.Associations[0].Source.EntityType, other.Associations[0].Target.EntityType = "HR_Group", "HR_User"
	hr := memconn.New(other)
	for from, to := range map[string]string{"SAB_User": "HR_User", "SAB_Org": "HR_Org", "SAB_Group": "HR_Group", "SAB_Members": "HR_Members"} {
		ext, _ := day1Export(blockedConn).Open(ctx, from)
		var rows [][]string
		for row, err := ext.Read(); err == nil; row, err = ext.Read() {
			rows = append(rows, slices.Clone(row))
		}
		hr.Set(to, ext.Header(), rows...)
	}
	_, err = eng.Run(ctx, hr, nil)
	require.NoError(t, err)

	res, err := eng.RunJob(ctx, []connector.Connector{blockedConn, hr}, &idsync.JobOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	require.Len(t, res.Connectors, 2)
	skipped := res.Connectors[0]
	assert.True(t, skipped.Skipped)
	assert.Nil(t, skipped.Run)
	assert.ErrorIs(t, skipped.Err, idsync.ErrConnectorBlocked)
	assert.Contains(t, skipped.Reason, run.ID, "the reason names the blocked run")
	assert.False(t, res.Connectors[1].Skipped)
	assert.Equal(t, idsync.Succeeded, res.Connectors[1].Run.State, "the job goes on")
	assert.Equal(t, idsync.Succeeded, res.State())
	assert.Zero(t, store.Count("SAB_User"))
	assert.Equal(t, 3, store.Count("HR_User"))
}

func day1Export(c *memconn.Connector) connector.Extraction {
	ext, err := c.Export(context.Background(), "")
	if err != nil {
		panic(err)
	}
	return ext
}
