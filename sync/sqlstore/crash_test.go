package sqlstore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/sqlstore"
)

// The crash tests kill a child process with SIGKILL while it applies a
// large change set, then check that the store holds exactly the state
// before the run or exactly the planned state, with the fingerprint that
// goes with it.

const (
	crashURLEnv     = "IDSYNC_CRASH_URL"
	crashChangesEnv = "IDSYNC_CRASH_CHANGES"
)

// TestCrashHelper is the child process of the crash tests; it skips when
// run on its own. It applies the change set in $IDSYNC_CRASH_CHANGES to the
// store at $IDSYNC_CRASH_URL, printing "applying" first.
func TestCrashHelper(t *testing.T) {
	url, dir := os.Getenv(crashURLEnv), os.Getenv(crashChangesEnv)
	if url == "" || dir == "" {
		t.Skip("the child process of the crash tests")
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, url, nil)
	require.NoError(t, err)
	cs, err := idsync.OpenChangeSet(dir)
	require.NoError(t, err)
	fmt.Println("applying")
	err = s.Apply(ctx, cs)
	fmt.Println("applied", err)
	require.NoError(t, err)
}

func TestCrashSQLite(t *testing.T) {
	dir := t.TempDir()
	initial := filepath.Join(dir, "initial.db")
	crashTest(t, "sqlite:"+initial, func(t *testing.T, round int) string {
		// Every round starts from a copy of the initial database (closed,
		// so it is a single file).
		path := filepath.Join(dir, fmt.Sprintf("round%d.db", round))
		b, err := os.ReadFile(initial)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return "sqlite:" + path
	}, nil)
}

func TestCrashPostgres(t *testing.T) {
	first := postgresURL(t)
	crashTest(t, first, func(t *testing.T, round int) string {
		// Every round starts from a new schema loaded with the initial
		// state, given the first schema's identity: a copy of it, as a
		// restored dump is, so the same plan applies.
		url := postgresURL(t)
		s := postgresBackend.open(t, url, nil)
		apply(t, s, testModel("HR"), crashInitial().extraction())
		id, err := postgresBackend.open(t, first, nil).Identity(context.Background())
		require.NoError(t, err)
		_, err = s.DB().Exec("UPDATE idsync_store SET identity = $1", id)
		require.NoError(t, err)
		return url + "&application_name=idsync_crash_" + fmt.Sprint(round)
	}, func(t *testing.T, round int) {
		// The server notices the dead client and rolls back; wait until
		// its session is gone.
		s := postgresBackend.open(t, first, nil)
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n int
			require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
				"idsync_crash_"+fmt.Sprint(round)).Scan(&n))
			if n == 0 {
				return
			}
			require.True(t, time.Now().Before(deadline), "the killed client's session is still there")
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// crashSize is the number of users of the initial state; the change set
// inserts one and a half times as many, updates 45 % and deletes 10 % of
// them, and changes their links: about 200,000 resource changes and
// 740,000 link changes.
func crashSize() int {
	if raceEnabled { // the race detector slows SQLite down tenfold
		return 5_000
	}
	return 100_000
}

func crashInitial() data {
	n := crashSize()
	d := data{users: manyUsers("u", n)}
	for i := range n / 100 {
		d.groups = append(d.groups, []string{fmt.Sprintf("g%05d", i), "Group"})
	}
	for i, u := range d.users {
		for k := range 2 {
			d.members = append(d.members, []string{d.groups[(i+k*7)%len(d.groups)][0], u[0]})
		}
	}
	return d
}

func crashPlanned() data {
	n := crashSize()
	d := crashInitial()
	users := d.users[n/10:] // deletes
	for i := range users {
		if i%2 == 0 { // updates
			users[i] = []string{users[i][0], "Renamed " + users[i][1], ""}
		}
	}
	d.users = append(users, manyUsers("v", n+n/2)...) // inserts
	d.members = nil
	for i, u := range d.users {
		for k := range 3 {
			d.members = append(d.members, []string{d.groups[(i+k*11)%len(d.groups)][0], u[0]})
		}
	}
	return d
}

// digest is a store's state for testModel: counts, and a hash of all
// resources and links in key order.
type digest struct {
	users, groups, members int
	hash, fp               string
}

func digestOf(t *testing.T, s idsync.Store) digest {
	t.Helper()
	st := readState(t, s, "HR")
	h := sha256.New()
	for _, k := range sortedKeys(st.users) {
		fmt.Fprintf(h, "U%q%q\n", k, st.users[k])
	}
	for _, k := range sortedKeys(st.groups) {
		fmt.Fprintf(h, "G%q%q\n", k, st.groups[k])
	}
	for _, l := range st.members {
		fmt.Fprintf(h, "L%q%q\n", l.Source, l.Target)
	}
	// The fingerprint's version: the identity differs between stores.
	version := st.fp[strings.LastIndex(st.fp, "/")+1:]
	return digest{len(st.users), len(st.groups), len(st.members), hex.EncodeToString(h.Sum(nil))[:16], version}
}

// crashTest plans the change set against the store at initialURL (loaded
// with the initial state), computes the expected states on a memstore,
// then for each round gets a database holding the initial state from
// next, runs the child on it and kills it at a random moment, calls
// settle, and checks the state.
func crashTest(t *testing.T, initialURL string, next func(t *testing.T, round int) string, settle func(t *testing.T, round int)) {
	if testing.Short() {
		t.Skip("crash tests are long")
	}
	m := testModel("HR")
	s := postgresOrSQLite(t, initialURL)
	apply(t, s, m, crashInitial().extraction())
	cs := plan(t, s, m, crashPlanned().extraction())
	require.NoError(t, s.Close())
	t.Logf("change set: %d changes: %d users inserted, %d updated, %d deleted, %d links inserted, %d deleted", cs.Len(),
		cs.EntityTypes()[0].Inserted, cs.EntityTypes()[0].Updated, cs.EntityTypes()[0].Deleted,
		cs.Associations()[0].Inserted, cs.Associations()[0].Deleted)

	// The expected states, on a memstore: another store, so with a plan of
	// its own (the same changes: it holds the same state).
	mem := memstore.New()
	apply(t, mem, m, crashInitial().extraction())
	before := digestOf(t, mem)
	require.NoError(t, mem.Apply(context.Background(), plan(t, mem, m, crashPlanned().extraction())))
	after := digestOf(t, mem)
	require.Equal(t, "1", before.fp)
	require.Equal(t, "2", after.fp)
	t.Logf("before: %+v, planned: %+v", before, after)

	// Round 0 runs to the end, to time an apply; the others kill the
	// child at a random moment within that time, until four kills
	// happened during an apply.
	var full time.Duration
	seen := map[string]int{}
	for round := 0; round < 10 && seen["killed"] < 4; round++ {
		url := next(t, round)
		var kill time.Duration
		if round > 0 {
			kill = time.Duration(float64(full) * (0.05 + 0.75*rand.Float64()))
		}
		took, finished := runChild(t, url, cs.Dir(), kill)
		if finished && (full == 0 || took < full) {
			full = took
		}
		require.NotZero(t, full, "the first apply failed")
		if settle != nil {
			settle(t, round)
		}
		got := digestOf(t, postgresOrSQLite(t, strings.Split(url, "&application_name=")[0]))
		outcome := "from before"
		switch got {
		case before:
		case after:
			outcome = "planned by"
		default:
			t.Fatalf("round %d: the store holds a mix: %+v, want %+v or %+v", round, got, before, after)
		}
		if finished {
			assert.Equal(t, "planned by", outcome, "round %d: the child finished", round)
		} else {
			seen["killed"]++
		}
		seen[outcome]++
		t.Logf("round %d: killed after %v (apply takes %v, finished: %v): the store holds the state %s the run",
			round, kill, full, finished, outcome)
	}
	t.Logf("outcomes: %v", seen)
	assert.NotZero(t, seen["killed"], "no kill happened during an apply")
}

func postgresOrSQLite(t *testing.T, url string) *sqlstore.Store {
	s, err := sqlstore.Open(context.Background(), url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// runChild runs TestCrashHelper on the store at url, and kills it with
// SIGKILL after kill once it prints "applying" (never if kill is 0). It
// returns how long it ran after "applying", and whether it finished the
// apply.
func runChild(t *testing.T, url, changes string, kill time.Duration) (time.Duration, bool) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), crashURLEnv+"="+url, crashChangesEnv+"="+changes)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(out)
	var start time.Time
	for lines.Scan() {
		if lines.Text() == "applying" {
			start = time.Now()
			break
		}
	}
	require.False(t, start.IsZero(), "the child did not start applying")
	finished := make(chan bool, 1)
	var took time.Duration
	go func() {
		ok := false
		for lines.Scan() {
			switch line := lines.Text(); {
			case line == "applied <nil>":
				took, ok = time.Since(start), true
			case strings.HasPrefix(line, "applied"), strings.Contains(line, "Error"):
				t.Log("child:", line)
			}
		}
		io.Copy(io.Discard, out)
		finished <- ok
	}()
	if kill > 0 {
		time.Sleep(kill)
		cmd.Process.Signal(syscall.SIGKILL)
	}
	ok := <-finished // the pipe is at its end: the child exited
	err = cmd.Wait()
	if kill == 0 {
		require.NoError(t, err)
	}
	return took, ok
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
