package gen_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/internal/gen"
)

// files are the CSV files of each version, with their headers.
var files = map[string][]string{
	"users.csv":   {"ID", "Login", "FirstName", "LastName", "Email", "HireDate", "Active", "OrgCode", "Guid", "Salary"},
	"members.csv": {"GroupID", "UserID"},
	"groups.csv":  {"GroupID", "Name"},
	"orgs.csv":    {"OrgCode", "Name"},
}

// readCSV reads a whole file with encoding/csv, checks its header and
// returns the other rows.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err, path)
	require.NotEmpty(t, rows, path)
	require.Equal(t, files[filepath.Base(path)], rows[0], "header of %s", path)
	return rows[1:]
}

// version is one version of the data, read back independently of gen.
type version struct {
	users   map[string][]string // ID → canonical values of the other columns
	groups  map[string]string   // GroupID → Name
	orgs    map[string]string   // OrgCode → Name
	members map[[2]string]bool  // {GroupID, UserID}
	raw     map[string][]string // ID → raw row
}

// readVersion reads the folder of one version, checking that keys and
// links are unique and that every reference resolves.
func readVersion(t *testing.T, dir string) *version {
	t.Helper()
	v := &version{users: map[string][]string{}, groups: map[string]string{},
		orgs: map[string]string{}, members: map[[2]string]bool{}, raw: map[string][]string{}}
	for _, r := range readCSV(t, filepath.Join(dir, "orgs.csv")) {
		_, dup := v.orgs[r[0]]
		require.False(t, dup, "duplicate org %s", r[0])
		v.orgs[r[0]] = r[1]
	}
	for _, r := range readCSV(t, filepath.Join(dir, "groups.csv")) {
		_, dup := v.groups[r[0]]
		require.False(t, dup, "duplicate group %s", r[0])
		v.groups[r[0]] = r[1]
	}
	for _, r := range readCSV(t, filepath.Join(dir, "users.csv")) {
		_, dup := v.users[r[0]]
		require.False(t, dup, "duplicate user %s", r[0])
		require.True(t, userID.MatchString(r[0]), "ID %q", r[0])
		_, ok := v.orgs[r[7]]
		require.True(t, ok, "unknown org of %s", r[0])
		v.users[r[0]] = canonical(t, r)
		v.raw[r[0]] = r
	}
	for _, r := range readCSV(t, filepath.Join(dir, "members.csv")) {
		link := [2]string{r[0], r[1]}
		require.False(t, v.members[link], "duplicate link %v", link)
		_, ok := v.groups[r[0]]
		require.True(t, ok, "link to unknown group %s", r[0])
		_, ok = v.users[r[1]]
		require.True(t, ok, "link to unknown user %s", r[1])
		v.members[link] = true
	}
	return v
}

var (
	userID = regexp.MustCompile(`^U\d{7}$`)
	guid   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	salary = regexp.MustCompile(`^\d+\.\d\d$`)
)

// canonical returns the canonical forms of a user's non-key columns, as
// the configuration's types define them.
func canonical(t *testing.T, r []string) []string {
	t.Helper()
	c := append([]string(nil), r[1:]...)
	d, err := time.Parse("02/01/2006", r[5])
	require.NoError(t, err)
	c[4] = d.Format(time.DateOnly)
	switch r[6] {
	case "Y":
		c[5] = "true"
	case "N":
		c[5] = "false"
	default:
		t.Fatalf("Active %q", r[6])
	}
	require.True(t, guid.MatchString(r[8]), "Guid %q", r[8])
	c[7] = strings.ToLower(r[8])
	require.True(t, salary.MatchString(r[9]), "Salary %q", r[9])
	c[8] = strings.TrimSuffix(strings.TrimRight(r[9], "0"), ".")
	return c
}

// diff computes the counts by comparing the two versions naively.
func diff(t *testing.T, cur, nw *version) *gen.Expected {
	t.Helper()
	u := gen.EntityCounts{Name: gen.UserType, Stored: len(cur.users), Read: len(nw.users)}
	for id, old := range cur.users {
		v, ok := nw.users[id]
		switch {
		case !ok:
			u.Deleted++
		case strings.Join(v, "\x00") == strings.Join(old, "\x00"):
			u.Unchanged++
		default:
			u.Updated++
			changed := 0
			for i := range v {
				if v[i] != old[i] {
					changed++
				}
			}
			assert.LessOrEqual(t, changed, 3, "user %s: %v → %v", id, cur.raw[id], nw.raw[id])
		}
	}
	for id := range nw.users {
		if _, ok := cur.users[id]; !ok {
			u.Inserted++
		}
	}
	same := func(name string, a, b map[string]string) gen.EntityCounts {
		require.Equal(t, a, b, name)
		return gen.EntityCounts{Name: name, Stored: len(a), Read: len(b), Unchanged: len(a)}
	}
	m := gen.AssociationCounts{Name: gen.Members, Stored: len(cur.members), Read: len(nw.members)}
	for l := range cur.members {
		if !nw.members[l] {
			m.Deleted++
		}
	}
	for l := range nw.members {
		if !cur.members[l] {
			m.Inserted++
		}
	}
	return &gen.Expected{
		EntityTypes: []gen.EntityCounts{u,
			same(gen.GroupType, cur.groups, nw.groups), same(gen.OrgType, cur.orgs, nw.orgs)},
		Associations: []gen.AssociationCounts{m},
	}
}

func TestGenerateCounts(t *testing.T) {
	for _, opts := range []gen.Options{
		{N: 2000, Seed: 1},
		{N: 2000, Seed: 2, GroupsPerUser: 1},
		{N: 3000, Seed: 3, GroupsPerUser: 30}, // more than the 30 groups
		{N: 1, Seed: 4},
		{N: 77, Seed: 5},
	} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			dir := t.TempDir()
			exp, err := gen.Generate(dir, opts)
			require.NoError(t, err)
			cur := readVersion(t, filepath.Join(dir, gen.CurrentDir))
			nw := readVersion(t, filepath.Join(dir, gen.NewDir))
			assert.Equal(t, diff(t, cur, nw), exp)

			data, err := os.ReadFile(filepath.Join(dir, gen.ExpectedFile))
			require.NoError(t, err)
			var saved gen.Expected
			require.NoError(t, json.Unmarshal(data, &saved))
			assert.Equal(t, exp, &saved)
		})
	}
}

func TestGenerateShape(t *testing.T) {
	dir := t.TempDir()
	exp, err := gen.Generate(dir, gen.Options{N: 2000, Seed: 7})
	require.NoError(t, err)
	cur := readVersion(t, filepath.Join(dir, gen.CurrentDir))
	nw := readVersion(t, filepath.Join(dir, gen.NewDir))

	users := exp.EntityTypes[0]
	assert.Equal(t, gen.EntityCounts{Name: gen.UserType, Stored: 2000, Read: 2000,
		Inserted: 20, Updated: 40, Deleted: 20, Unchanged: 1940}, users)
	assert.Len(t, cur.groups, 20)
	assert.Len(t, cur.orgs, 10)

	// 5 to 15 groups per user, about 10 on average.
	perUser := map[string]int{}
	for l := range cur.members {
		perUser[l[1]]++
	}
	for id := range cur.users {
		assert.GreaterOrEqual(t, perUser[id], 5, id)
		assert.LessOrEqual(t, perUser[id], 15, id)
	}
	assert.InDelta(t, 10, float64(len(cur.members))/float64(len(cur.users)), 0.5)

	// Inserted users have links; kept users whose links changed changed by
	// 1 to 6 links.
	curLinks, newLinks := groupsOf(cur), groupsOf(nw)
	links := func(v *version, id string) map[string]bool {
		if v == cur {
			return curLinks[id]
		}
		return newLinks[id]
	}
	regrouped := 0
	for id := range nw.users {
		if _, ok := cur.users[id]; !ok {
			assert.NotEmpty(t, links(nw, id), "inserted user %s has no group", id)
		}
	}
	for id := range cur.users {
		if _, ok := nw.users[id]; !ok {
			continue
		}
		before, after := links(cur, id), links(nw, id)
		if assert.NotEmpty(t, after) && !equalSets(before, after) {
			regrouped++
			changes := 0
			for g := range before {
				if !after[g] {
					changes++
				}
			}
			for g := range after {
				if !before[g] {
					changes++
				}
			}
			assert.LessOrEqual(t, changes, 6, id)
		}
	}
	assert.Equal(t, 40, regrouped) // 2 % of the 1980 kept users

	// Values that need CSV quoting, and GUIDs in both cases.
	raw, err := os.ReadFile(filepath.Join(dir, gen.CurrentDir, "users.csv"))
	require.NoError(t, err)
	for _, s := range []string{`"Smith, Jr."`, `O'Brien`, `"William ""Bill"""`} {
		assert.Contains(t, string(raw), s)
	}
	var upper, lower int
	for _, r := range cur.raw {
		if r[8] == strings.ToUpper(r[8]) {
			upper++
		} else {
			lower++
		}
	}
	assert.Positive(t, upper)
	assert.Positive(t, lower)
}

// groupsOf returns the groups of every user of v.
func groupsOf(v *version) map[string]map[string]bool {
	groups := map[string]map[string]bool{}
	for l := range v.members {
		if groups[l[1]] == nil {
			groups[l[1]] = map[string]bool{}
		}
		groups[l[1]][l[0]] = true
	}
	return groups
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// readAll returns the contents of every file under dir by relative path.
func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = data
		return err
	})
	require.NoError(t, err)
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	opts := gen.Options{N: 1000, Seed: 42}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	_, err := gen.Generate(a, opts)
	require.NoError(t, err)
	_, err = gen.Generate(b, opts)
	require.NoError(t, err)
	filesA, filesB := readAll(t, a), readAll(t, b)
	assert.Len(t, filesA, 10)
	for name, data := range filesA {
		assert.True(t, bytes.Equal(data, filesB[name]), "%s differs between two runs", name)
	}

	opts.Seed++
	_, err = gen.Generate(c, opts)
	require.NoError(t, err)
	filesC := readAll(t, c)
	assert.NotEqual(t, filesA["current/users.csv"], filesC["current/users.csv"])
}

func TestGenerateShuffled(t *testing.T) {
	dir := t.TempDir()
	_, err := gen.Generate(dir, gen.Options{N: 1000, Seed: 1})
	require.NoError(t, err)
	for name := range files {
		rows := readCSV(t, filepath.Join(dir, gen.NewDir, name))
		sorted := true
		for i := 1; i < len(rows) && sorted; i++ {
			sorted = rows[i-1][0] <= rows[i][0]
		}
		assert.False(t, sorted, "%s is sorted", name)
	}
}

func TestGenerateInvalid(t *testing.T) {
	for _, opts := range []gen.Options{{N: 0}, {N: -1}, {N: 10, GroupsPerUser: -1}} {
		_, err := gen.Generate(t.TempDir(), opts)
		assert.Error(t, err, "%+v", opts)
	}
}

func TestExpectedWriteText(t *testing.T) {
	exp, err := gen.Generate(t.TempDir(), gen.Options{N: 100, Seed: 1})
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, exp.WriteText(&b))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 7)
	assert.Equal(t, []string{"GEN_User", "100", "100", "1", "2", "1", "97"}, strings.Fields(lines[1]))
	assert.Equal(t, gen.Members, strings.Fields(lines[6])[0])
}
