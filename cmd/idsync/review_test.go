package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Golden-output tests of the review commands' messages: exact strings,
// with the paths, run IDs, times and store identities that vary from a
// session to the next replaced by placeholders.

// scrub replaces what varies in an output: the folder dir by $DIR, each
// run ID by its name in ids, times and store identities.
func scrub(s, dir string, ids map[string]string) string {
	s = strings.ReplaceAll(s, dir, "$DIR")
	for id, name := range ids {
		s = strings.ReplaceAll(s, id, name)
	}
	s = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`).ReplaceAllString(s, "TIME")
	s = regexp.MustCompile(`\(\d+(\.\d+)?m?s\)`).ReplaceAllString(s, "(DURATION)")
	return regexp.MustCompile(`identity [0-9a-f]+`).ReplaceAllString(s, "identity ID")
}

// runID returns the ID of the run a JSON result names.
func runID(t *testing.T, r cmdResult) string {
	t.Helper()
	id, ok := decode(t, r.stdout)["run"].(string)
	require.True(t, ok, "no run in %s", r.stdout)
	return id
}

// TestRunNotFound: the message names the work folder where it looked and
// tells how to list the runs.
func TestRunNotFound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "w"), 0o755))
	for _, cmd := range []string{"show", "errors", "resume", "cancel"} {
		r := expect(t, dir, 1, cmd, "20260101T000000Z-HR-00000000", "--work", "w")
		assert.Empty(t, r.stdout)
		assert.Equal(t, "idsync "+cmd+": run not found: 20260101T000000Z-HR-00000000 (looked in the work folder $DIR/w)\n"+
			"idsync "+cmd+": list the runs with: idsync runs --work w (and --store URL for a store not used from this work folder)\n", scrub(r.stderr, dir, nil))
	}
}

// TestReadOnlyCommandsCreateNothing: show, errors, runs and browse, in an
// empty folder, create no store and no work folder, and say what is
// missing.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	noWork := "no work folder $DIR/idsync-work: no run was recorded there (give --work DIR or set $IDSYNC_WORK)\n"
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"show", "X"}, "idsync show: " + noWork},
		{[]string{"show", "X", "--changes", "--work", "w"}, "idsync show: no work folder $DIR/w: no run was recorded there (give --work DIR or set $IDSYNC_WORK)\n"},
		{[]string{"errors", "X"}, "idsync errors: " + noWork},
		{[]string{"runs"}, "idsync runs: " + noWork},
		{[]string{"runs", "--json"}, "idsync runs: " + noWork},
		{[]string{"browse", "HR_Org"}, "idsync browse: no store sqlite:./idsync.db: the file $DIR/idsync.db does not exist (browse reads a store and creates none; give --store URL or set $IDSYNC_STORE)\n"},
		{[]string{"browse", "HR_Org", "ORG01", "--store", "x.db"}, "idsync browse: no store x.db: the file $DIR/x.db does not exist (browse reads a store and creates none; give --store URL or set $IDSYNC_STORE)\n"},
		{[]string{"browse", "HR_Org", "--store", "sqlite:sub/y.db"}, "idsync browse: no store sqlite:sub/y.db: the file $DIR/sub/y.db does not exist (browse reads a store and creates none; give --store URL or set $IDSYNC_STORE)\n"},
	} {
		r := expect(t, dir, 1, tc.args...)
		assert.Empty(t, r.stdout, "%v", tc.args)
		assert.Equal(t, tc.stderr, scrub(r.stderr, dir, nil), "%v", tc.args)
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "read-only commands created files")
}

// TestSupersededRun: a blocked run that a newer run superseded is shown
// as such, and resume and cancel say which run to review instead.
func TestSupersededRun(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	first := runID(t, expect(t, dir, 3, args("run", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	second := runID(t, expect(t, dir, 3, args("run", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	ids := map[string]string{first: "RUN1", second: "RUN2"}
	work := []string{"--work", "work"}
	review := "superseded by run RUN2: review that one: idsync show RUN2 --changes --work work"

	r := expect(t, dir, 0, args("show", []string{first}, work)...)
	assert.Contains(t, scrub(r.stdout, dir, ids), "HR  run RUN1  CANCELLED  (complete)\n")
	assert.Contains(t, scrub(r.stdout, dir, ids), "\n\n  Cancelled: "+review+"\n\n  Started: TIME   ended: TIME (DURATION)\n")
	assert.Empty(t, r.stderr)

	r = expect(t, dir, 1, args("show", []string{first, "--changes"}, work)...)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "idsync show: run RUN1 has no change set to list: it was "+review+"\n", scrub(r.stderr, dir, ids))

	r = expect(t, dir, 1, args("resume", []string{first}, work)...)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "idsync resume: run RUN1 was "+review+"\n", scrub(r.stderr, dir, ids))
	r = expect(t, dir, 1, args("resume", []string{first, "--json"}, work)...)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "idsync resume: run RUN1 was "+review+"\n", scrub(r.stderr, dir, ids))

	r = expect(t, dir, 1, args("cancel", []string{first}, work)...)
	assert.Equal(t, "idsync cancel: run RUN1 is already cancelled: it was "+review+"\n", scrub(r.stderr, dir, ids))
	assert.NoFileExists(t, filepath.Join(dir, "idsync.db"), "no store opened for a run that cannot be resumed")
}

// TestResumeSucceeded: resuming a run that already succeeded is one error
// line, not the run's summary.
func TestResumeSucceeded(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	id := runID(t, expect(t, dir, 3, args("run", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	expect(t, dir, 0, args("resume", []string{id}, storeFlags(dir))...)
	r := expect(t, dir, 1, args("resume", []string{id}, storeFlags(dir))...)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "idsync resume: run RUN has already succeeded: its changes are applied, there is nothing to resume\n", scrub(r.stderr, dir, map[string]string{id: "RUN"}))

	r = expect(t, dir, 1, args("cancel", []string{id}, storeFlags(dir))...)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "idsync cancel: run RUN has already succeeded: its changes are applied, there is nothing to cancel\n", scrub(r.stderr, dir, map[string]string{id: "RUN"}))

	plan := runID(t, expect(t, dir, 0, args("plan", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	r = expect(t, dir, 1, args("resume", []string{plan}, storeFlags(dir))...)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "idsync resume: run PLAN is a plan (a dry run): only a blocked run can be resumed; 'idsync run' plans and applies\n", scrub(r.stderr, dir, map[string]string{plan: "PLAN"}))
}

// The APP sample: users with a multi-valued property, groups, members.
const appConfig = `connectors:
  - name: APP
    entityTypes:
      - name: APP_User
        file: users.csv
        key: [id]
        properties:
          - { name: id, column: ID }
          - { name: name, column: Name }
          - { name: mails, column: Mails, multiValued: true, separator: ";" }
      - name: APP_Group
        file: groups.csv
        key: [id]
        properties:
          - { name: id, column: ID }
    associations:
      - name: APP_Members
        file: members.csv
        source: { entityType: APP_Group, column: GroupID }
        target: { entityType: APP_User, column: UserID }
`

// appSample writes the APP sample into a new folder: app.yaml (not
// idsync.yaml, which browse would read by default), day1/ and day2/.
func appSample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"app.yaml":         appConfig,
		"day1/users.csv":   "ID,Name,Mails\nU1,Ann,a@x;b@x\nU2,Bob,c@x\nU3,Cid,\n",
		"day1/groups.csv":  "ID\nG1\nG2\n",
		"day1/members.csv": "GroupID,UserID\nG1,U1\nG1,U2\nG2,U2\n",
		"day2/users.csv":   "ID,Name,Mails\nU1,Ann,d@x;b@x\nU3,Cid Jr,e@x\nU4,Dan,\"f@x; g, h@x\"\n",
		"day2/groups.csv":  "ID\nG1\nG2\n",
		"day2/members.csv": "GroupID,UserID\nG1,U1\nG2,U3\nG2,U4\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	return dir
}

// appDay2 loads day 1 of the APP sample and returns the blocked run of
// day 2.
func appDay2(t *testing.T, dir string) string {
	t.Helper()
	f := []string{"--config", "app.yaml", "--store", "sqlite:x.db", "--work", "work", "--json"}
	day1 := runID(t, expect(t, dir, 3, args("run", []string{"--input", "day1"}, f)...))
	expect(t, dir, 0, "resume", day1, "--work", "work")
	return runID(t, expect(t, dir, 3, args("run", []string{"--input", "day2"}, f)...))
}

// changesPart returns the change list that show --changes prints after
// the run's summary.
func changesPart(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "  Folder:  ")
	require.GreaterOrEqual(t, i, 0, out)
	j := strings.Index(out[i:], "\n\n")
	require.GreaterOrEqual(t, j, 0, out)
	return out[i+j+2:]
}

// TestShowChangesFilters: --op, --type, --key and --limit select the
// changes listed, and bad values are usage errors naming the flag.
func TestShowChangesFilters(t *testing.T) {
	t.Parallel()
	dir := appSample(t)
	id := appDay2(t, dir)
	show := func(code int, extra ...string) cmdResult {
		return expect(t, dir, code, args("show", []string{id, "--work", "work"}, extra)...)
	}
	all := "APP_User: 4 changes\n" +
		"  update U1  mails: added [d@x], removed [a@x]\n" +
		"  delete U2  id=U2 name=Bob mails=[c@x]\n" +
		"  update U3  name: Cid → \"Cid Jr\"; mails: added [e@x]\n" +
		"  insert U4  id=U4 name=Dan mails=[f@x, \"g, h@x\"]\n" +
		"APP_Members: 4 link changes\n" +
		"  delete G1 → U2\n" +
		"  delete G2 → U2\n" +
		"  insert G2 → U3\n" +
		"  insert G2 → U4\n"
	assert.Equal(t, all, changesPart(t, show(0, "--changes").stdout))
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--op", "update"}, "APP_User: 2 of 4 changes (--op update)\n" +
			"  update U1  mails: added [d@x], removed [a@x]\n" +
			"  update U3  name: Cid → \"Cid Jr\"; mails: added [e@x]\n"},
		{[]string{"--op", "insert,delete", "--type", "APP_Members"}, "APP_Members: 4 of 4 link changes (--op insert,delete --type APP_Members)\n" +
			"  delete G1 → U2\n  delete G2 → U2\n  insert G2 → U3\n  insert G2 → U4\n"},
		{[]string{"--key", "U2"}, "APP_User: 1 of 4 changes (--key U2)\n" +
			"  delete U2  id=U2 name=Bob mails=[c@x]\n" +
			"APP_Members: 2 of 4 link changes (--key U2)\n" +
			"  delete G1 → U2\n  delete G2 → U2\n"},
		{[]string{"--type", "APP_User", "--op", "delete", "--changes", "--limit", "1"}, "APP_User: 1 of 4 changes (--op delete --type APP_User)\n" +
			"  delete U2  id=U2 name=Bob mails=[c@x]\n"},
		{[]string{"--changes", "--limit", "1"}, "APP_User: 4 changes\n" +
			"  update U1  mails: added [d@x], removed [a@x]\n" +
			"  ... 3 more\n" +
			"APP_Members: 4 link changes\n" +
			"  delete G1 → U2\n" +
			"  ... 3 more\n"},
		{[]string{"--op", "update", "--limit", "1"}, "APP_User: 2 of 4 changes (--op update)\n" +
			"  update U1  mails: added [d@x], removed [a@x]\n" +
			"  ... 1 more\n"},
		{[]string{"--type", "APP_Group"}, "No change matches --type APP_Group.\n"},
		{[]string{"--key", "U9"}, "No change matches --key U9.\n"},
	} {
		assert.Equal(t, tc.want, changesPart(t, show(0, tc.flags...).stdout), "%v", tc.flags)
	}

	// JSON: the same selection; multi-valued values are arrays.
	m := decode(t, show(0, "--json", "--key", "U1").stdout)
	ch := connectors(t, m)["APP"]["changes"].([]any)
	require.Len(t, ch, 1)
	assert.Equal(t, map[string]any{"entityType": "APP_User", "op": "update", "key": "U1", "props": []any{
		map[string]any{"name": "mails", "old": []any{"a@x", "b@x"}, "new": []any{"b@x", "d@x"}, "added": []any{"d@x"}, "removed": []any{"a@x"}},
	}}, ch[0])
	m = decode(t, show(0, "--json", "--key", "U3").stdout)
	ch = connectors(t, m)["APP"]["changes"].([]any)
	require.Len(t, ch, 2)
	assert.Equal(t, map[string]any{"entityType": "APP_User", "op": "update", "key": "U3", "props": []any{
		map[string]any{"name": "name", "old": "Cid", "new": "Cid Jr"},
		map[string]any{"name": "mails", "old": []any{}, "new": []any{"e@x"}, "added": []any{"e@x"}},
	}}, ch[0])
	assert.Equal(t, map[string]any{"association": "APP_Members", "op": "insert", "source": "G2", "target": "U3"}, ch[1], "links from or to the key")
	m = decode(t, show(0, "--json", "--changes", "--op", "insert", "--type", "APP_User").stdout)
	ch = connectors(t, m)["APP"]["changes"].([]any)
	require.Len(t, ch, 1)
	assert.Equal(t, []any{
		map[string]any{"name": "id", "old": "", "new": "U4"},
		map[string]any{"name": "name", "old": "", "new": "Dan"},
		map[string]any{"name": "mails", "old": []any{}, "new": []any{"f@x", "g, h@x"}},
	}, ch[0].(map[string]any)["props"])

	// Bad values: usage errors naming the flag.
	for _, tc := range []struct {
		flags  []string
		stderr string
	}{
		{[]string{"--op", "merge"}, `idsync show: --op merge: unknown operation "merge": want insert, update or delete (several: comma-separated)`},
		{[]string{"--op", "insert,upsert"}, `idsync show: --op insert,upsert: unknown operation "upsert": want insert, update or delete (several: comma-separated)`},
		{[]string{"--type", "NOPE"}, `idsync show: --type NOPE: run RUN has no entity type or association "NOPE" (it has APP_User, APP_Group, APP_Members)`},
		{[]string{"--changes", "--limit", "-1"}, `idsync show: --limit -1: want a positive number, or 0 for all`},
	} {
		r := show(2, tc.flags...)
		assert.Empty(t, r.stdout)
		assert.Equal(t, tc.stderr+"\nRun 'idsync show -h' for usage.\n", scrub(r.stderr, dir, map[string]string{id: "RUN"}), "%v", tc.flags)
	}
}

// TestMultiValuedBrowse: browse shows a multi-valued property as a list,
// and as a JSON array, never with the separator; without a configuration
// too.
func TestMultiValuedBrowse(t *testing.T) {
	t.Parallel()
	dir := appSample(t)
	id := appDay2(t, dir)
	expect(t, dir, 0, "resume", id, "--work", "work")
	for _, cfg := range [][]string{{"--config", "app.yaml"}, nil} {
		r := expect(t, dir, 0, args("browse", []string{"APP_User", "U4", "--store", "sqlite:x.db"}, cfg)...)
		want := "APP_User U4\n\n" +
			"  id     U4\n" +
			"  mails  [f@x, \"g, h@x\"]\n" +
			"  name   Dan\n"
		if cfg != nil { // the model's order, and the links it declares
			want = "APP_User U4\n\n" +
				"  id     U4\n" +
				"  name   Dan\n" +
				"  mails  [f@x, \"g, h@x\"]\n" +
				"\nAPP_Members (incoming, APP_User ← APP_Group): 1\n" +
				"  G2           idsync browse APP_Group G2\n"
		}
		if cfg == nil {
			want += "\nAPP_Members (incoming, APP_User ← APP_Group): 1\n" +
				"  G2           idsync browse APP_Group G2\n"
		}
		assert.Equal(t, want, r.stdout, "%v", cfg)
		r = expect(t, dir, 0, args("browse", []string{"APP_User", "--store", "sqlite:x.db"}, cfg)...)
		want = "KEY  name    mails\n" +
			"U1   Ann     [b@x, d@x]\n" +
			"U3   Cid Jr  [e@x]\n" +
			"U4   Dan     [f@x, \"g, h@x\"]\n" +
			"\n3 of 3 APP_User resources\n"
		if cfg == nil {
			// Without a model, a value is a list when it holds several.
			want = "KEY  id  mails            name\n" +
				"U1   U1  [b@x, d@x]       Ann\n" +
				"U3   U3  e@x              Cid Jr\n" +
				"U4   U4  [f@x, \"g, h@x\"]  Dan\n" +
				"\n3 of 3 APP_User resources\n"
		}
		assert.Equal(t, want, r.stdout, "%v", cfg)
		assert.NotContains(t, r.stdout, "\x1f")

		m := decode(t, expect(t, dir, 0, args("browse", []string{"APP_User", "U1", "--json", "--store", "sqlite:x.db"}, cfg)...).stdout)
		assert.Equal(t, map[string]any{"id": "U1", "name": "Ann", "mails": []any{"b@x", "d@x"}}, m["properties"])
		m = decode(t, expect(t, dir, 0, args("browse", []string{"APP_User", "--json", "--store", "sqlite:x.db"}, cfg)...).stdout)
		props := m["resources"].([]any)[2].(map[string]any)["properties"].(map[string]any)
		assert.Equal(t, []any{"f@x", "g, h@x"}, props["mails"])
		if cfg != nil {
			props = m["resources"].([]any)[1].(map[string]any)["properties"].(map[string]any)
			assert.Equal(t, []any{"e@x"}, props["mails"], "a multi-valued property with one value is an array")
		}
	}
}

// TestErrorsLimit: errors lists 50 rows per table by default and --all
// all of them; --json lists all rows, or --limit per table.
func TestErrorsLimit(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	// SAB planned alone: its 60 users and 136 memberships are rejected.
	id := runID(t, expect(t, dir, 3, args("plan", flags(dir, "--input", "day1", "--connector", "SAB", "--json"))...))
	work := []string{"--work", "work"}
	rows := func(out string) int { return len(regexp.MustCompile(`(?m)^  \d+  `).FindAllString(out, -1)) }

	r := expect(t, dir, 0, args("errors", []string{id}, work)...)
	out := scrub(r.stdout, dir, map[string]string{id: "RUN"})
	assert.True(t, strings.HasPrefix(out, "SAB  run RUN: 196 rows reported (SAB_User: missingReference 60; SAB_Members: rejectedEnd 136)\n"+
		"Report: $DIR/work/runs/RUN/prepared/errors.csv (and errors.jsonl)\n\n"+
		"sab_users.csv (SAB_User): 60 rows\n"), out)
	assert.Contains(t, out, "\n  ... 10 more (--all lists them)\n\nsab_members.csv (SAB_Members): 136 rows\n")
	assert.True(t, strings.HasSuffix(out, "\n  ... 86 more (--all lists them)\n"), out)
	assert.Equal(t, 100, rows(out))

	r = expect(t, dir, 0, args("errors", []string{id, "--all"}, work)...)
	assert.Equal(t, 196, rows(r.stdout))
	assert.NotContains(t, r.stdout, "more")
	r = expect(t, dir, 0, args("errors", []string{id, "--limit", "2"}, work)...)
	assert.Equal(t, 4, rows(r.stdout))
	assert.Contains(t, r.stdout, "\n  ... 58 more\n")

	m := decode(t, expect(t, dir, 0, args("errors", []string{id, "--json"}, work)...).stdout)
	assert.Len(t, m["rejections"], 196)
	assert.Equal(t, float64(196), m["total"])
	m = decode(t, expect(t, dir, 0, args("errors", []string{id, "--json", "--limit", "1"}, work)...).stdout)
	rej := m["rejections"].([]any)
	require.Len(t, rej, 2, "one row per table")
	assert.Equal(t, "SAB_User", rej[0].(map[string]any)["entityType"])
	assert.Equal(t, "SAB_Members", rej[1].(map[string]any)["entityType"])
	assert.Equal(t, float64(196), m["total"])

	r = expect(t, dir, 2, args("errors", []string{id, "--all", "--limit", "3"}, work)...)
	assert.Equal(t, "idsync errors: --all and --limit 3: give one of them\nRun 'idsync errors -h' for usage.\n", r.stderr)
	r = expect(t, dir, 2, args("errors", []string{id, "--limit", "-2"}, work)...)
	assert.Equal(t, "idsync errors: --limit -2: want a positive number\nRun 'idsync errors -h' for usage.\n", r.stderr)
}

// TestDeactivateUnknown: with --config, an unknown connector is refused,
// naming the known ones; without, a warning says that the name is not
// checked.
func TestDeactivateUnknown(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	r := expect(t, dir, 2, "deactivate", "NOPE", "--config", "idsync.yaml", "--work", "work")
	assert.Empty(t, r.stdout)
	assert.Equal(t, "idsync deactivate: no connector \"NOPE\" in idsync.yaml (it has HR, SAB)\n", r.stderr)
	assert.NoDirExists(t, filepath.Join(dir, "work"), "nothing created for a refused connector")
	r = expect(t, dir, 2, "activate", "NOPE", "--config", "idsync.yaml", "--work", "work")
	assert.Equal(t, "idsync activate: no connector \"NOPE\" in idsync.yaml (it has HR, SAB)\n", r.stderr)

	r = expect(t, dir, 0, "deactivate", "NOPE", "--work", "work")
	assert.Equal(t, "idsync deactivate: warning: sqlite:$DIR/idsync.db has no run of connector \"NOPE\": check its name (--config FILE checks it against the configuration)\n", scrub(r.stderr, dir, nil))
	assert.Equal(t, "NOPE deactivated: plan and run skip it until 'idsync activate NOPE --work work'.\n", r.stdout)

	// A connector that ran is known: no warning.
	expect(t, dir, 3, args("plan", flags(dir, "--input", "day1", "--connector", "HR"))...)
	r = expect(t, dir, 0, "deactivate", "HR", "--work", "work", "--store", "sqlite:"+filepath.Join(dir, "x.db"))
	assert.Empty(t, r.stderr)
}

// TestCLIWords: the library's errors are printed without their package
// prefixes and with the CLI's flags for the library's options; JSON keeps
// the library's message.
func TestCLIWords(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "day1", "hr_orgs.csv"), []byte("Code,Name,ParentCode\r\n"), 0o644))
	msg := "empty extraction: HR.HR_Org (day1/hr_orgs.csv) has no row; use --allow-empty to delete all it holds"
	r := expect(t, dir, 1, "plan", "--config", "idsync.yaml", "--input", "day1", "--connector", "HR", "--store", "mem:", "--work", "work")
	assert.Equal(t, "idsync plan: HR: "+msg+"\n", r.stderr)
	assert.Equal(t, "HR  run RUN  FAILED  (complete, plan only: nothing written)\n\n  Failed: "+msg+"\n",
		regexp.MustCompile(`run \S+`).ReplaceAllString(r.stdout, "run RUN"))
	r = expect(t, dir, 0, "runs", "--work", "work")
	assert.Contains(t, r.stdout, "  "+msg+"\n")
	r = expect(t, dir, 1, "plan", "--config", "idsync.yaml", "--input", "day1", "--connector", "HR", "--store", "mem:", "--work", "work", "--json")
	assert.Equal(t, "idsync plan: HR: "+msg+"\n", r.stderr)
	assert.Equal(t, "HR: idsync: empty extraction: HR.HR_Org (day1/hr_orgs.csv) has no row; set AllowEmpty to delete all it holds", decode(t, r.stdout)["error"])
}

func TestHuman(t *testing.T) {
	for in, want := range map[string]string{
		"idsync: apply: sqlstore: open x.db: disk full":                 "apply: open x.db: disk full",
		"idsync: run R blocked: threshold: HR: 5 inserts > maxInserted": "run R blocked: HR: 5 inserts > maxInserted",
		"entitytype: idsync.yaml:3: unknown field (connector: x)":       "idsync.yaml:3: unknown field (connector: x)",
		"HR: idsync: connector busy; sqlstore: locked":                  "HR: connector busy; locked",
		"set AllowEmpty to delete":                                      "use --allow-empty to delete",
		"no connector: NOPE":                                            "no connector: NOPE",
		"idsync: no previous snapshot: run in complete mode first":      "no previous snapshot: run with --mode complete first",
	} {
		assert.Equal(t, want, human(in), in)
	}
}

// TestHelpSynopsis: 'idsync help' prints the synopsis of every command,
// which names all its flags (TestSynopsisComplete).
func TestHelpSynopsis(t *testing.T) {
	t.Parallel()
	r := expect(t, t.TempDir(), 0, "help")
	for _, cmd := range commands {
		assert.Contains(t, r.stdout, "\n  "+strings.TrimSpace("idsync "+cmd.name+" "+cmd.args)+"\n")
	}
	for _, f := range []string{"--keep-going", "--allow-empty", "--out", "--after", "--op", "--all"} {
		assert.Contains(t, r.stdout, f)
	}
}

// TestReviewIsAudited: resume and cancel record who decided and why, and
// show prints it.
func TestReviewIsAudited(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	work := []string{"--work", "work"}
	resumed := runID(t, expect(t, dir, 3, args("run", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	expect(t, dir, 0, args("resume", []string{resumed, "--as", "alice", "--comment", "first load, checked with HR"}, work)...)
	r := expect(t, dir, 0, args("show", []string{resumed}, work)...)
	assert.Contains(t, scrub(r.stdout, dir, nil), "\n  Resumed by alice at TIME: first load, checked with HR\n")

	cancelled := runID(t, expect(t, dir, 0, args("plan", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	expect(t, dir, 0, args("cancel", []string{cancelled, "--as", "bob"}, work)...)
	r = expect(t, dir, 0, args("show", []string{cancelled}, work)...)
	assert.Contains(t, scrub(r.stdout, dir, nil), "\n  Cancelled by bob at TIME\n")
}

// TestRunsPages: runs lists newest first, filtered by state, a page at a
// time, and tells how to list the next page.
func TestRunsPages(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	var ids []string // oldest first
	for range 3 {
		ids = append(ids, runID(t, expect(t, dir, 3, args("plan", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))) // would block
	}
	blocked := runID(t, expect(t, dir, 3, args("run", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	listed := func(extra ...string) []string {
		r := expect(t, dir, 0, append([]string{"runs", "--work", "work", "--json"}, extra...)...)
		var out []string
		for _, x := range decode(t, r.stdout)["runs"].([]any) {
			out = append(out, x.(map[string]any)["id"].(string))
		}
		return out
	}
	assert.Equal(t, []string{blocked, ids[2], ids[1], ids[0]}, listed(), "newest first")
	assert.Equal(t, []string{blocked}, listed("--state", "blocked"))
	assert.Equal(t, []string{ids[2], ids[1]}, listed("--before", blocked, "--limit", "2"))
	r := expect(t, dir, 0, "runs", "--work", "work", "--limit", "2")
	assert.Contains(t, r.stdout, "\nMore runs may be older: idsync runs --before "+ids[2]+" --limit 2 --work work\n")
	r = expect(t, dir, 2, "runs", "--work", "work", "--state", "done")
	assert.Contains(t, r.stderr, `--state "done": want running, planned, blocked, succeeded, failed or cancelled`)
}

// TestPruneCommand: prune keeps the newest runs of each connector and
// never a blocked one.
func TestPruneCommand(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	blocked := runID(t, expect(t, dir, 3, args("run", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...))
	var plans []string
	for range 3 {
		plans = append(plans, runID(t, expect(t, dir, 3, args("plan", flags(dir, "--input", "day1", "--connector", "HR", "--json"))...)))
	}
	r := expect(t, dir, 0, "prune", "--keep", "2", "--work", "work")
	assert.Equal(t, "deleted "+plans[0]+"\n1 runs deleted from work.\n", r.stdout, "the blocked run is kept, beyond --keep too")
	r = expect(t, dir, 0, "runs", "--work", "work", "--json")
	var ids []string
	for _, x := range decode(t, r.stdout)["runs"].([]any) {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	assert.Equal(t, []string{plans[2], plans[1], blocked}, ids)
	expect(t, dir, 2, "prune", "--keep", "0", "--work", "work")
}

// TestOtherWorkFolder: the store keeps the runs and the artifact store
// their files, so another work folder, given both, lists, reviews and
// resumes a run; without the artifact store it says where the files are.
func TestOtherWorkFolder(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	store := "sqlite:" + filepath.Join(dir, "x.db")
	arts := "file://" + filepath.Join(dir, "bucket")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "bucket"), 0o755))
	id := runID(t, expect(t, dir, 3, "run", "--config", "idsync.yaml", "--input", "day1", "--connector", "HR", "--store", store, "--work", "a", "--artifacts", arts, "--json"))

	b := []string{"--store", store, "--work", "b"}
	r := expect(t, dir, 0, append([]string{"runs", "--json"}, b...)...)
	assert.Contains(t, r.stdout, id, "the store lists the run to another work folder")
	r = expect(t, dir, 1, append([]string{"show", id, "--changes"}, b...)...)
	assert.Contains(t, r.stderr, "its change set is not in")
	assert.Contains(t, r.stderr, "artifact store")
	r = expect(t, dir, 0, append([]string{"show", id, "--changes", "--artifacts", arts}, b...)...)
	assert.Contains(t, r.stdout, "HR_Org: 5 changes")
	expect(t, dir, 0, append([]string{"resume", id, "--artifacts", arts, "--as", "bob"}, b...)...)
	r = expect(t, dir, 0, "show", id, "--work", "a") // the store of a's runs
	assert.Contains(t, r.stdout, "SUCCEEDED")
	assert.Contains(t, r.stdout, "Resumed by bob")
}

// TestResumeCreatesNoStore: a run recorded in the work folder (mem:) is
// refused by a store that does not exist, which is not created.
func TestResumeCreatesNoStore(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	id := runID(t, expect(t, dir, 3, "run", "--config", "idsync.yaml", "--input", "day1", "--connector", "HR", "--store", "mem:", "--work", "w", "--json"))
	r := expect(t, dir, 4, "resume", id, "--work", "w", "--store", "sqlite:new.db")
	assert.Contains(t, r.stderr, "stale plan")
	assert.Contains(t, r.stderr, "mem:")
	assert.NoFileExists(t, filepath.Join(dir, "new.db"))
}

func TestCanonicalFileURL(t *testing.T) {
	abs, err := filepath.Abs("f.db")
	require.NoError(t, err)
	assert.Equal(t, "file:"+abs+"?mode=rwc", canonicalStoreURL("file:f.db?mode=rwc"))
	assert.Equal(t, "file:/x/f.db", canonicalStoreURL("file:/x/f.db"))
}
