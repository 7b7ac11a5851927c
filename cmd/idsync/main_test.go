package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/sync/sqlstore"
)

// binary is the idsync command built once by TestMain.
var binary string

// repoRoot is the module's root folder, found from this file's path.
var repoRoot string

func TestMain(m *testing.M) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		fmt.Fprintln(os.Stderr, "cannot locate the test file")
		os.Exit(1)
	}
	pkgDir := filepath.Dir(file)
	repoRoot = filepath.Join(pkgDir, "..", "..")
	tmp, err := os.MkdirTemp("", "idsync-cli-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(tmp, "idsync")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = pkgDir
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// result is one run of the binary.
type cmdResult struct {
	stdout, stderr string
	code           int
}

// runBin runs the binary in dir.
func runBin(t *testing.T, dir string, args ...string) cmdResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cmdResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("idsync %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Fatalf("idsync %s: Go stack trace on stderr:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDSYNC_") {
			env = append(env, kv)
		}
	}
	return env
}

// expect runs the binary and checks its exit code.
func expect(t *testing.T, dir string, code int, args ...string) cmdResult {
	t.Helper()
	r := runBin(t, dir, args...)
	if r.code != code {
		t.Fatalf("idsync %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// sample copies examples/sab into a new temporary folder and returns it:
// it holds idsync.yaml, day1/ and day2/.
func sample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "examples", "sab"))))
	return dir
}

// decode decodes one JSON object.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	require.NoError(t, dec.Decode(&m), "stdout: %s", s)
	_, err := dec.Token()
	require.ErrorIs(t, err, io.EOF, "exactly one JSON object on stdout")
	return m
}

// connectors returns the connector entries of a JSON result, by name.
func connectors(t *testing.T, m map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	list, ok := m["connectors"].([]any)
	require.True(t, ok, "connectors is an array: %v", m["connectors"])
	for _, c := range list {
		cm := c.(map[string]any)
		out[cm["name"].(string)] = cm
	}
	return out
}

// counts returns the counters of an entity type or association entry.
func counts(t *testing.T, conn map[string]any, kind, name string) map[string]float64 {
	t.Helper()
	for _, x := range conn[kind].([]any) {
		e := x.(map[string]any)
		if e["name"] == name {
			out := map[string]float64{}
			for k, v := range e {
				if f, ok := v.(float64); ok {
					out[k] = f
				}
			}
			return out
		}
	}
	t.Fatalf("no %s %q in %v", kind, name, conn[kind])
	return nil
}

// flags are the usual flags of a test run in dir.
func flags(dir string, extra ...string) []string {
	return append([]string{"--config", filepath.Join(dir, "idsync.yaml"),
		"--store", "sqlite:" + filepath.Join(dir, "x.db"), "--work", filepath.Join(dir, "work")}, extra...)
}

func storeFlags(dir string) []string {
	return []string{"--store", "sqlite:" + filepath.Join(dir, "x.db"), "--work", filepath.Join(dir, "work")}
}

func args(cmd string, rest ...[]string) []string {
	out := []string{cmd}
	for _, r := range rest {
		out = append(out, r...)
	}
	return out
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	r := expect(t, dir, 2)
	assert.Contains(t, r.stderr, "Usage:")
	r = expect(t, dir, 2, "frobnicate")
	assert.Contains(t, r.stderr, `unknown command "frobnicate"`)
	r = expect(t, dir, 2, "plan", "--bogus")
	assert.Contains(t, r.stderr, "flag provided but not defined: -bogus")
	assert.Contains(t, r.stderr, "idsync plan -h")
	assert.Empty(t, r.stdout)
	r = expect(t, dir, 2, "plan", "--config", "idsync.yaml")
	assert.Contains(t, r.stderr, "--input is required")
	r = expect(t, dir, 2, "plan", "--config", "idsync.yaml", "--input", "day9")
	assert.Contains(t, r.stderr, "day9: no such folder")
	r = expect(t, dir, 2, "plan", "--config", "idsync.yaml", "--input", "day1", "--mode", "sometimes")
	assert.Contains(t, r.stderr, `unknown mode "sometimes"`)
	r = expect(t, dir, 2, "plan", "--config", "idsync.yaml", "--input", "day1", "--connector", "NOPE")
	assert.Contains(t, r.stderr, `no connector "NOPE"`)
	r = expect(t, dir, 2, "plan", "--config", "idsync.yaml", "--input", "day1", "--store", "mysql://x")
	assert.Contains(t, r.stderr, "unknown store URL")
	for _, bad := range []string{"sqlite:", "file::memory:"} {
		r = expect(t, dir, 2, "plan", "--config", "idsync.yaml", "--input", "day1", "--store", bad)
		assert.Contains(t, r.stderr, "names no database file")
	}
	r = expect(t, dir, 2, "diff", "--config", "idsync.yaml", "--connector", "HR", "--entity", "SAB_User", "day1/sab_users.csv", "day2/sab_users.csv")
	assert.Contains(t, r.stderr, `no entity type or association "SAB_User" in connector HR`)
	r = expect(t, dir, 2, "resume")
	assert.Contains(t, r.stderr, "missing arguments")
	r = expect(t, dir, 2, "show", "a", "b")
	assert.Contains(t, r.stderr, "too many arguments")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "work"), 0o755))
	r = expect(t, dir, 1, "show", "no-such-run", "--work", "work")
	assert.Contains(t, r.stderr, "run not found")
	r = expect(t, dir, 2, "diff", "--config", "idsync.yaml", "day1/sab_users.csv", "day2/sab_users.csv")
	assert.Contains(t, r.stderr, "--entity is required")
	r = expect(t, dir, 2, "browse", "SAB_User", "--store", "mem:")
	assert.Contains(t, r.stderr, "forgets everything")
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		assert.True(t, strings.HasPrefix(line, "idsync ") || strings.HasPrefix(line, "Run 'idsync"), "clear one-line errors: %q", line)
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := expect(t, dir, 0, "help")
	for _, c := range []string{"plan", "run", "resume", "cancel", "show", "errors", "runs", "browse", "diff", "activate", "deactivate", "version"} {
		assert.Contains(t, r.stdout, "idsync "+c+" ")
	}
	r = expect(t, dir, 0, "-h")
	assert.Contains(t, r.stdout, "Exit codes")
	for _, c := range []string{"plan", "run", "resume", "cancel", "show", "errors", "runs", "browse", "diff", "activate", "deactivate"} {
		r = expect(t, dir, 0, c, "-h")
		assert.Contains(t, r.stdout, "Usage: idsync "+c)
		assert.Empty(t, r.stderr)
		r = expect(t, dir, 0, "help", c)
		assert.Contains(t, r.stdout, "Usage: idsync "+c)
	}
	r = expect(t, dir, 0, "run", "--help")
	assert.Contains(t, r.stdout, "--allow-empty")
	assert.Contains(t, r.stdout, "--keep-going")
	r = expect(t, dir, 0, "version")
	assert.Regexp(t, `^idsync \S+`, r.stdout)
	expect(t, dir, 0, "--version")
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	cfg, err := os.ReadFile(filepath.Join(dir, "idsync.yaml"))
	require.NoError(t, err)
	lines := strings.Split(string(cfg), "\n")
	line := 0
	for i, l := range lines {
		if strings.Contains(l, "file: sab_users.csv") {
			lines[i] = strings.Replace(l, "file:", "fiel:", 1)
			line = i + 1
		}
	}
	require.NotZero(t, line)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(strings.Join(lines, "\n")), 0o644))
	r := expect(t, dir, 2, "plan", "--config", "bad.yaml", "--input", "day1", "--store", "mem:")
	assert.Equal(t, fmt.Sprintf("idsync plan: bad.yaml:%d: unknown field \"fiel\" in entity type SAB_User (did you mean \"file\"?)\n", line), r.stderr)
	assert.Empty(t, r.stdout)

	// A definition error lists its path in the configuration.
	bad := strings.Replace(string(cfg), "key: [id]", "key: [nope]", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad2.yaml"), []byte(bad), 0o644))
	r = expect(t, dir, 2, "run", "--config", "bad2.yaml", "--input", "day1", "--store", "mem:", "--json")
	assert.Contains(t, r.stderr, `idsync run: bad2.yaml:20: SAB.SAB_User: key: property "nope" is not defined`)
	assert.Empty(t, r.stdout, "no JSON for a configuration error")
}

// TestTour is the README's tour: a first load that blocks, is reviewed
// and resumed, HR then SAB, then a second day that applies.
func TestTour(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	runDay := func(day string, code int) map[string]any {
		r := expect(t, dir, code, args("run", flags(dir, "--input", filepath.Join(dir, day), "--json"))...)
		return decode(t, r.stdout)
	}

	// Day 1: HR's first load blocks; the job stops before SAB, whose users
	// reference HR's organizations.
	m := runDay("day1", 3)
	assert.Equal(t, "blocked", m["state"])
	conns := connectors(t, m)
	assert.Equal(t, "blocked", conns["HR"]["state"])
	assert.Equal(t, "skipped", conns["SAB"]["state"])
	assert.Contains(t, conns["SAB"]["reason"], "stopped after HR")
	hrRun := conns["HR"]["run"].(string)
	assert.Equal(t, hrRun, m["run"])
	assert.Equal(t, float64(5), counts(t, conns["HR"], "entityTypes", "HR_Org")["inserted"])

	// Review, in words.
	r := expect(t, dir, 0, args("show", []string{hrRun, "--changes"}, storeFlags(dir))...)
	assert.Contains(t, r.stdout, "BLOCKED")
	assert.Contains(t, r.stdout, "HR: 5 inserts > maxPercentInserted 5 % of 0 stored (0)")
	assert.Contains(t, r.stdout, "insert ORG05  code=ORG05 name=Support parent=ORG03")
	assert.Contains(t, r.stdout, "idsync resume "+hrRun+" --work ")

	// Resume, with the flags after the run ID.
	r = expect(t, dir, 0, args("resume", []string{hrRun}, storeFlags(dir))...)
	assert.Contains(t, r.stdout, "SUCCEEDED")

	// Day 1 again: HR has no change, SAB's first load blocks.
	m = runDay("day1", 3)
	conns = connectors(t, m)
	assert.Equal(t, "succeeded", conns["HR"]["state"])
	assert.Equal(t, "blocked", conns["SAB"]["state"])
	sabRun := conns["SAB"]["run"].(string)
	assert.Equal(t, sabRun, m["run"])
	assert.Equal(t, float64(60), counts(t, conns["SAB"], "entityTypes", "SAB_User")["inserted"])
	assert.Equal(t, float64(0), counts(t, conns["SAB"], "entityTypes", "SAB_User")["rejected"])
	assert.Equal(t, float64(136), counts(t, conns["SAB"], "associations", "SAB_Members")["inserted"])

	// Nothing of SAB is stored before the resume.
	r = expect(t, dir, 1, "browse", "SAB_User", "U0012", "--store", "sqlite:"+filepath.Join(dir, "x.db"))
	assert.Contains(t, r.stderr, "SAB_User U0012 is not stored")
	r = expect(t, dir, 0, args("resume", []string{sabRun, "--json"}, storeFlags(dir))...)
	m = decode(t, r.stdout)
	assert.Equal(t, "succeeded", m["state"])
	assert.Equal(t, sabRun, m["run"])

	// The store holds the data: browse a user, its groups, a group's users.
	user := browse(t, dir, "SAB_User", "U0012")
	props := user["properties"].(map[string]any)
	assert.Equal(t, "Ines Smith, Jr.", props["displayName"])
	assert.Equal(t, "2024-02-03", props["hireDate"])
	assert.Equal(t, "ORG02", props["organization"])
	groups := link(t, user, "SAB_Members", "incoming")
	assert.Equal(t, "SAB_Group", groups["entityType"])
	assert.Equal(t, []any{"G01", "G02", "G04"}, groups["keys"])
	group := browse(t, dir, "SAB_Group", "G02")
	members := link(t, group, "SAB_Members", "outgoing")
	assert.Equal(t, "SAB_User", members["entityType"])
	assert.Contains(t, members["keys"], "U0012")
	org := browse(t, dir, "HR_Org", "ORG02")
	assert.Equal(t, "Sales", org["properties"].(map[string]any)["name"])

	// Day 2: a small change applies.
	m = runDay("day2", 0)
	assert.Equal(t, "succeeded", m["state"])
	conns = connectors(t, m)
	u := counts(t, conns["SAB"], "entityTypes", "SAB_User")
	assert.Equal(t, map[string]float64{"stored": 60, "read": 60, "rejected": 0, "inserted": 1, "updated": 2, "deleted": 1, "unchanged": 57, "protected": 0}, u)
	l := counts(t, conns["SAB"], "associations", "SAB_Members")
	assert.Equal(t, map[string]float64{"stored": 136, "read": 137, "rejected": 0, "inserted": 3, "deleted": 2}, l)
	user = browse(t, dir, "SAB_User", "U0012")
	assert.Equal(t, "ORG04", user["properties"].(map[string]any)["organization"])
	r = expect(t, dir, 1, "browse", "SAB_User", "U0007", "--config", filepath.Join(dir, "idsync.yaml"), "--store", "sqlite:"+filepath.Join(dir, "x.db"))
	assert.Contains(t, r.stderr, "SAB_User U0007 is not stored")

	// The runs, newest first, with their states.
	r = expect(t, dir, 0, "runs", "--work", filepath.Join(dir, "work"), "--json")
	var states []string
	for _, x := range decode(t, r.stdout)["runs"].([]any) {
		x := x.(map[string]any)
		states = append(states, x["connector"].(string)+" "+x["state"].(string))
	}
	assert.Equal(t, []string{"SAB succeeded", "HR succeeded", "SAB succeeded", "HR succeeded", "HR succeeded"}, states, "newest first")

	// Text outputs for people.
	r = expect(t, dir, 0, "runs", "--work", filepath.Join(dir, "work"))
	assert.Regexp(t, `(?m)^RUN\s+CONNECTOR\s+MODE\s+STATE`, r.stdout)
	r = expect(t, dir, 0, "browse", "SAB_User", "--limit", "5", "--after", "U0010", "--config", filepath.Join(dir, "idsync.yaml"), "--store", "sqlite:"+filepath.Join(dir, "x.db"))
	assert.Contains(t, r.stdout, "5 of 60 SAB_User resources after U0010")
	assert.Contains(t, r.stdout, "next page: idsync browse SAB_User --after U0015 --limit 5")
	r = expect(t, dir, 0, "browse", "SAB_User", "U0012", "--config", filepath.Join(dir, "idsync.yaml"), "--store", "sqlite:"+filepath.Join(dir, "x.db"))
	assert.Contains(t, r.stdout, "→ idsync browse HR_Org ORG04")
	assert.Contains(t, r.stdout, "idsync browse SAB_Group G04")
}

// browse returns the JSON of one resource.
func browse(t *testing.T, dir, typ, key string) map[string]any {
	t.Helper()
	r := expect(t, dir, 0, "browse", typ, key, "--json", "--config", filepath.Join(dir, "idsync.yaml"), "--store", "sqlite:"+filepath.Join(dir, "x.db"))
	return decode(t, r.stdout)
}

func link(t *testing.T, res map[string]any, assoc, direction string) map[string]any {
	t.Helper()
	for _, l := range res["links"].([]any) {
		l := l.(map[string]any)
		if l["association"] == assoc && l["direction"] == direction {
			return l
		}
	}
	t.Fatalf("no %s link %s in %v", direction, assoc, res["links"])
	return nil
}

// TestJSONShape checks the keys and types of plan's JSON object.
func TestJSONShape(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	r := expect(t, dir, 3, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--json"))...)
	m := decode(t, r.stdout)
	assert.IsType(t, "", m["run"])
	assert.Equal(t, "planned", m["state"], "a plan is planned; exceeded says it would block")
	assert.Equal(t, true, m["exceeded"])
	assert.Equal(t, "complete", m["mode"])
	assert.IsType(t, "", m["errorReport"])
	list := m["connectors"].([]any)
	require.Len(t, list, 2, "a plan goes on after a plan that would block")
	for _, c := range list {
		c := c.(map[string]any)
		for _, k := range []string{"name", "run", "state", "mode"} {
			assert.IsType(t, "", c[k], k)
		}
		assert.Equal(t, "planned", c["state"])
		assert.Equal(t, true, c["exceeded"])
		for _, e := range c["entityTypes"].([]any) {
			e := e.(map[string]any)
			assert.IsType(t, "", e["name"])
			for _, k := range []string{"stored", "read", "rejected", "inserted", "updated", "deleted", "unchanged"} {
				assert.IsType(t, float64(0), e[k], k)
			}
		}
		for _, a := range c["associations"].([]any) {
			a := a.(map[string]any)
			assert.IsType(t, "", a["name"])
			for _, k := range []string{"stored", "read", "rejected", "inserted", "deleted"} {
				assert.IsType(t, float64(0), a[k], k)
			}
		}
		vs := c["verdicts"].([]any)
		require.NotEmpty(t, vs)
		exceeded := 0
		for _, v := range vs {
			v := v.(map[string]any)
			for _, k := range []string{"rule", "scope", "text"} {
				assert.IsType(t, "", v[k], k)
			}
			for _, k := range []string{"count", "denominator"} {
				assert.IsType(t, float64(0), v[k], k)
			}
			assert.NotNil(t, v["limit"])
			assert.IsType(t, true, v["exceeded"])
			if v["exceeded"] == true {
				exceeded++
			}
		}
		assert.NotZero(t, exceeded)
	}
	sab := connectors(t, m)["SAB"]
	assert.Equal(t, sab["run"], m["run"], "the top-level run is the last connector's")
	assert.Equal(t, sab["errorReport"], m["errorReport"])
	// HR's organizations are not stored: every SAB user's reference is
	// rejected, and the report says where.
	assert.Equal(t, float64(60), counts(t, sab, "entityTypes", "SAB_User")["rejected"])
	assert.FileExists(t, m["errorReport"].(string))

	// A plan writes nothing, and shows as planned.
	r = expect(t, dir, 0, "show", m["run"].(string), "--work", filepath.Join(dir, "work"))
	assert.Contains(t, r.stdout, "PLANNED")
	assert.Contains(t, r.stdout, "A run would be blocked by thresholds:")
	r = expect(t, dir, 0, "runs", "--work", filepath.Join(dir, "work"))
	assert.Contains(t, r.stdout, "PLANNED (would block)")

	// The errors command reads the report for people.
	r = expect(t, dir, 0, "errors", m["run"].(string), "--work", filepath.Join(dir, "work"))
	assert.Contains(t, r.stdout, "sab_users.csv (SAB_User): 60 rows")
	assert.Regexp(t, `(?m)^\s+2\s+U0001\s+OrgCode\s+missingReference\s+no HR.HR_Org has key "ORG05"`, r.stdout)
	r = expect(t, dir, 0, "errors", m["run"].(string), "--work", filepath.Join(dir, "work"), "--json")
	rej := decode(t, r.stdout)["rejections"].([]any)
	assert.Len(t, rej, 60+136)

	// Text output: aligned counters, verdicts in words, no colour.
	r = expect(t, dir, 3, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR"))...)
	assert.Regexp(t, `(?m)^  ENTITY TYPE\s+STORED\s+READ\s+REJECTED\s+INSERTED\s+UPDATED\s+DELETED\s+UNCHANGED$`, r.stdout)
	assert.Regexp(t, `(?m)^  HR_Org\s+0\s+5\s+0\s+5\s+0\s+0\s+0$`, r.stdout)
	assert.Contains(t, r.stdout, "A run would be blocked by thresholds:\n    HR: 5 inserts > maxPercentInserted 5 % of 0 stored (0)")
	assert.NotContains(t, r.stdout, "\x1b[")
	assert.Empty(t, r.stderr, "no progress bar off a terminal, no logs without -v")
	// -v writes the library's logs to stderr.
	r = expect(t, dir, 3, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR", "-v"))...)
	assert.Contains(t, r.stderr, "run started")
}

func TestMalformedCSV(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	f, err := os.OpenFile(filepath.Join(dir, "day1", "sab_groups.csv"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("G09,Bad \"quote\" here\r\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	r := expect(t, dir, 1, args("run", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "SAB"))...)
	input := filepath.Join(dir, "day1", "sab_groups.csv")
	assert.Contains(t, r.stderr, input+":8:", "the error names the input file and its line")
	assert.Contains(t, r.stderr, `bare " in non-quoted-field`)
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(r.stderr), "\n")+1, "one line: %s", r.stderr)
	assert.Contains(t, r.stdout, "FAILED")
	id := regexp.MustCompile(`run (\S+)  FAILED`).FindStringSubmatch(r.stdout)[1]
	r = expect(t, dir, 0, "errors", id, "--work", filepath.Join(dir, "work"))
	assert.Contains(t, r.stdout, "failed: SAB.SAB_Group:")
	assert.Contains(t, r.stdout, "sab_groups.csv:8:")

	r = expect(t, dir, 1, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "SAB", "--json"))...)
	m := decode(t, r.stdout)
	assert.Equal(t, "failed", m["state"])
	assert.Contains(t, m["error"], input+":8:")
	assert.Equal(t, "failed", connectors(t, m)["SAB"]["state"])

	// A missing file.
	require.NoError(t, os.Remove(filepath.Join(dir, "day2", "sab_members.csv")))
	r = expect(t, dir, 1, args("run", flags(dir, "--input", filepath.Join(dir, "day2"), "--connector", "SAB"))...)
	assert.Contains(t, r.stderr, "sab_members.csv")
}

func TestCancel(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	r := expect(t, dir, 3, args("run", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR", "--json"))...)
	id := decode(t, r.stdout)["run"].(string)
	// An incremental run of a blocked connector is refused (exit 3).
	r = expect(t, dir, 3, args("run", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR", "--mode", "incremental"))...)
	assert.Contains(t, r.stderr, "blocked run "+id)

	r = expect(t, dir, 0, "cancel", id, "--work", filepath.Join(dir, "work"))
	assert.Contains(t, r.stdout, "CANCELLED")
	r = expect(t, dir, 0, "show", id, "--work", filepath.Join(dir, "work"), "--json")
	assert.Equal(t, "cancelled", decode(t, r.stdout)["state"])
	r = expect(t, dir, 1, args("resume", []string{id}, storeFlags(dir))...)
	assert.Contains(t, r.stderr, "only a blocked run can be resumed")
	r = expect(t, dir, 1, "cancel", id, "--work", filepath.Join(dir, "work"))
	assert.Contains(t, r.stderr, "is cancelled")
	// Nothing was applied.
	r = expect(t, dir, 3, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR", "--json"))...)
	assert.Equal(t, float64(0), counts(t, connectors(t, decode(t, r.stdout))["HR"], "entityTypes", "HR_Org")["stored"])
}

// TestStaleResume plans a blocked run, changes the store with another
// applied run, then resumes the first one: exit code 4.
func TestStaleResume(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	// A first plan blocks; then the host writes into the store, outside
	// idsync (a run of idsync would supersede the blocked one): the plan
	// is stale.
	r := expect(t, dir, 3, args("run", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR", "--json"))...)
	first := decode(t, r.stdout)["run"].(string)
	host, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(dir, "x.db"), nil)
	require.NoError(t, err)
	require.NoError(t, host.Put(context.Background(), "HR", "HR_Org", "ORG99", map[string]string{"code": "ORG99", "name": "Added by the host"}))
	host.Close()
	r = expect(t, dir, 4, args("resume", []string{first}, storeFlags(dir))...)
	assert.Contains(t, r.stderr, "stale plan")
	assert.Contains(t, r.stderr, "idsync cancel "+first)
	assert.NotContains(t, r.stdout, "Apply:", "no resume command for a stale plan")
	r = expect(t, dir, 4, args("resume", []string{first, "--json"}, storeFlags(dir))...)
	m := decode(t, r.stdout)
	assert.Equal(t, "blocked", m["state"])
	assert.Contains(t, m["error"], "stale plan")
}

func TestMemStore(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	work := filepath.Join(dir, "work")
	cfg := filepath.Join(dir, "idsync.yaml")
	r := expect(t, dir, 3, "run", "--config", cfg, "--input", filepath.Join(dir, "day1"), "--store", "mem:", "--work", work, "--json")
	id := decode(t, r.stdout)["run"].(string)
	// The in-memory store the run was planned against is gone: another
	// one (a new process's) is another store, and the resume is refused.
	r = expect(t, dir, 4, "resume", id, "--store", "mem:", "--work", work)
	assert.Contains(t, r.stderr, "forgot everything")
	r = expect(t, dir, 4, "resume", id, "--work", work)
	assert.Contains(t, r.stderr, "planned against store mem:")
	r = expect(t, dir, 0, "show", id, "--work", work)
	assert.Contains(t, r.stdout, "Apply:   none: the mem: store")
	assert.NoFileExists(t, filepath.Join(dir, "idsync.db"))
	// Defaults: ./idsync.db and ./idsync-work.
	expect(t, dir, 3, "plan", "--config", cfg, "--input", filepath.Join(dir, "day1"), "--connector", "HR")
	assert.FileExists(t, filepath.Join(dir, "idsync.db"))
	assert.DirExists(t, filepath.Join(dir, "idsync-work", "runs"))
}

func TestActivate(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	work := filepath.Join(dir, "work")
	store := "sqlite:" + filepath.Join(dir, "x.db") // the store keeps the connector's state
	r := expect(t, dir, 0, "deactivate", "HR", "--work", work, "--store", store, "--config", filepath.Join(dir, "idsync.yaml"))
	assert.Contains(t, r.stdout, "HR deactivated")
	expect(t, dir, 2, "deactivate", "NOPE", "--work", work, "--config", filepath.Join(dir, "idsync.yaml"))
	r = expect(t, dir, 3, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--json"))...)
	conns := connectors(t, decode(t, r.stdout))
	assert.Equal(t, "skipped", conns["HR"]["state"])
	assert.Contains(t, conns["HR"]["reason"], "deactivated")
	assert.Equal(t, "planned", conns["SAB"]["state"])
	expect(t, dir, 0, "activate", "HR", "--work", work, "--store", store) // the store plan and run use
	r = expect(t, dir, 3, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--json"))...)
	assert.Equal(t, "planned", connectors(t, decode(t, r.stdout))["HR"]["state"])
}

func TestAllowEmpty(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "day1", "hr_orgs.csv"), []byte("Code,Name,ParentCode\r\n"), 0o644))
	r := expect(t, dir, 1, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR"))...)
	assert.Contains(t, r.stderr, "empty extraction")
	r = expect(t, dir, 0, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "HR", "--allow-empty", "--json"))...)
	assert.Equal(t, "planned", decode(t, r.stdout)["state"])
}

func TestKeepGoing(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	r := expect(t, dir, 3, args("run", flags(dir, "--input", filepath.Join(dir, "day1"), "--keep-going", "--json"))...)
	conns := connectors(t, decode(t, r.stdout))
	assert.Equal(t, "blocked", conns["HR"]["state"])
	assert.Equal(t, "blocked", conns["SAB"]["state"])
}

var runIDPattern = regexp.MustCompile(`^\d{8}T\d{6}Z-[A-Za-z0-9_]+-[0-9a-f]{8}$`)

func TestRunIDs(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	r := expect(t, dir, 3, args("plan", flags(dir, "--input", filepath.Join(dir, "day1"), "--connector", "SAB", "--json"))...)
	assert.Regexp(t, runIDPattern, decode(t, r.stdout)["run"])
}
