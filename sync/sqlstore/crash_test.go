package sqlstore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
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

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/sqlstore"
	"github.com/idsync/idsync/threshold"
)

// The crash tests resume a blocked run of a large change set in a child
// process, through the engine (Engine.Resume, whose success commits in
// the transaction of its changes: StateStore.ApplyRun), and kill the child
// with SIGKILL at chosen moments: before the apply, during it, in its
// transaction just before COMMIT, as it commits, after it. Then they check
// that the store holds either everything as before the resume (resources
// and links, the run's record still blocked, the connector's state still
// naming it as its blocked run, with its previous last run, cursor and
// snapshot), and that the run can still be resumed; or everything that the
// resume commits (the planned resources and links, the run succeeded, the
// connector's last run, cursor, previous snapshot and fingerprint), and
// that the run can no longer be resumed. Never a mix.
//
// A few rounds instead make a complete run of the planned data, with
// thresholds off, in the child (Engine.Run): its success commits with its
// changes the cancellation of the blocked run that it supersedes.

const (
	crashURLEnv   = "IDSYNC_CRASH_URL"
	crashWorkEnv  = "IDSYNC_CRASH_WORK"
	crashRunEnv   = "IDSYNC_CRASH_RUN"
	crashPauseEnv = "IDSYNC_CRASH_PAUSE"
	crashModeEnv  = "IDSYNC_CRASH_MODE"
)

// The lines that the child prints as it goes, in this order: the parent
// knows where a kill landed from the last one it printed.
const (
	// markStarting: Engine.Resume (or Run) is about to be called.
	markStarting = "starting"
	// markApplying: the engine calls ApplyRun; no transaction has begun.
	markApplying = "applying"
	// markCommitting: ApplyRun calls the commit's State: in the
	// transaction, the changes and the run's record are written, the
	// connector's state is next, then COMMIT.
	markCommitting = "committing"
	// markPaused (with IDSYNC_CRASH_PAUSE=commit): the child sleeps
	// there, in the transaction, to be killed.
	markPaused = "paused"
	// markCommitted: ApplyRun returned nil: COMMIT succeeded. With
	// IDSYNC_CRASH_PAUSE=committed, the child then sleeps, to be killed.
	markCommitted = "committed"
	// markReturned: Resume (Run) returned; its error follows. With
	// IDSYNC_CRASH_PAUSE=end, the child then sleeps, to be killed.
	markReturned = "returned"
)

var crashMarks = []string{markStarting, markApplying, markCommitting, markPaused, markCommitted, markReturned}

func say(a ...any) { fmt.Println(a...) } // os.Stdout is unbuffered: the line is out when it returns

// crashStore is the child's store: the *sqlstore.Store, embedded so that
// the engine sees all its optional interfaces (StateStore, Locker,
// Identifier...), whose ApplyRun says where it is and, as pause says,
// sleeps in its transaction just before COMMIT ("commit") or just after
// COMMIT ("committed").
type crashStore struct {
	*sqlstore.Store
	pause string
}

// sleep stops the child where it is, for the parent to kill it: a sleeping
// process, in which the runtime sees no deadlock.
func sleep() { time.Sleep(time.Hour) }

var (
	_ idsync.StateStore = crashStore{}
	_ idsync.Locker     = crashStore{}
)

func (s crashStore) ApplyRun(ctx context.Context, cs *idsync.ChangeSet, c *idsync.Commit) error {
	say(markApplying)
	if c != nil {
		commit, state := *c, c.State
		commit.State = func(st *idsync.ConnectorState, fingerprint string) {
			say(markCommitting)
			if s.pause == "commit" {
				say(markPaused)
				sleep()
			}
			state(st, fingerprint)
		}
		c = &commit
	}
	err := s.Store.ApplyRun(ctx, cs, c)
	if err == nil {
		say(markCommitted)
		if s.pause == "committed" {
			sleep()
		}
	}
	return err
}

// TestCrashHelper is the child process of the crash tests; it skips when
// run on its own. It resumes the run $IDSYNC_CRASH_RUN of the store at
// $IDSYNC_CRASH_URL, whose work folder is $IDSYNC_CRASH_WORK, printing
// where it is (crashMarks); with IDSYNC_CRASH_MODE=run, it makes instead a
// complete run of the planned data (crashRunConnector).
func TestCrashHelper(t *testing.T) {
	url, work, id := os.Getenv(crashURLEnv), os.Getenv(crashWorkEnv), os.Getenv(crashRunEnv)
	if url == "" || work == "" || id == "" {
		t.Skip("the child process of the crash tests")
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, url, nil)
	require.NoError(t, err)
	defer s.Close()
	pause := os.Getenv(crashPauseEnv)
	eng := idsync.New(crashStore{s, pause}, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})
	say(markStarting)
	var run *idsync.Run
	if os.Getenv(crashModeEnv) == "run" {
		run, err = eng.Run(ctx, crashRunConnector(), nil)
	} else {
		run, err = eng.Resume(ctx, id, &idsync.ReviewOptions{Actor: "child", Comment: "crash test"})
	}
	say(markReturned, err)
	if pause == "end" {
		sleep()
	}
	require.NoError(t, err)
	assert.Equal(t, idsync.Succeeded, run.State)
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
	first := postgresURL(t) // fails in CI without IDSYNC_POSTGRES_DSN, skips elsewhere
	crashTest(t, first, func(t *testing.T, round int) string {
		// Every round starts from a new schema holding a copy of the
		// first one, as a restored dump does: the same identity, so the
		// same blocked run resumes.
		url := postgresURL(t)
		copySchema(t, first, url)
		return url + "&application_name=idsync_crash_" + fmt.Sprint(round)
	}, func(t *testing.T, round int) {
		// The server notices the dead client and rolls back; wait until
		// its sessions are gone.
		s := postgresBackend.open(t, first, nil)
		defer s.Close()
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

// copySchema copies the tables of the store at fromURL into the store at
// toURL (a new one, which Open migrates), schemas of one database.
func copySchema(t *testing.T, fromURL, toURL string) {
	from, to := searchPath(t, fromURL), searchPath(t, toURL)
	s := postgresBackend.open(t, toURL, nil)
	defer s.Close()
	db := s.DB()
	var tables []string
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'idsync_schema_version'`, from)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables)
	tx, err := db.Begin()
	require.NoError(t, err)
	defer tx.Rollback()
	for _, name := range tables {
		_, err := tx.Exec(fmt.Sprintf("DELETE FROM %s.%s", to, name))
		require.NoError(t, err)
		_, err = tx.Exec(fmt.Sprintf("INSERT INTO %s.%s SELECT * FROM %s.%s", to, name, from, name))
		require.NoError(t, err, name)
	}
	// The numbering of entity types and associations goes on after the
	// copied numbers.
	rows, err = tx.Query(`SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = $1 AND is_identity = 'YES'`, to)
	require.NoError(t, err)
	var idents [][2]string
	for rows.Next() {
		var table, column string
		require.NoError(t, rows.Scan(&table, &column))
		idents = append(idents, [2]string{table, column})
	}
	require.NoError(t, rows.Err())
	for _, c := range idents {
		_, err := tx.Exec(fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s.%s', '%s'), coalesce(max(%s), 0) + 1, false) FROM %s.%s",
			to, c[0], c[1], c[1], to, c[0]))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
}

func searchPath(t *testing.T, url string) string {
	_, schema, ok := strings.Cut(url, "search_path=")
	require.True(t, ok, url)
	schema, _, _ = strings.Cut(schema, "&")
	return schema
}

// crashSize is the number of users of the initial state; the change set
// inserts one and a half times as many, updates 45 % and deletes 10 % of
// them, and changes their links: about 40,000 resource changes and
// 150,000 link changes, an apply of about half a second on SQLite (and of
// a second with the race detector, which slows SQLite down tenfold, for
// 1,500 users). Every round applies it up to twice, in the child and the
// parent.
func crashSize() int {
	switch {
	case testing.Short():
		return 1_000
	case raceEnabled:
		return 1_500
	}
	return 20_000
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

// crashFixture is what every round starts from: a store in which a first
// run loaded the initial state, and a work folder, in which a second run,
// planned against it, waits blocked by thresholds.
type crashFixture struct {
	work  string                // the work folder
	run   *idsync.Run           // the blocked run's record
	first string                // the run before it
	state idsync.ConnectorState // the connector's state, the run blocked
	// before and after are the store's resources and links as the
	// blocked run found them and as it plans them.
	before, after digest
}

func newCrashFixture(t *testing.T, url string) *crashFixture {
	ctx := context.Background()
	s := postgresOrSQLite(t, url)
	f := &crashFixture{work: filepath.Join(t.TempDir(), "work")}
	eng := idsync.New(s, &idsync.Options{WorkDir: f.work, Logger: slog.New(slog.DiscardHandler)})
	conn := memconn.New(testModel("HR"))
	blocked := func(d data) *idsync.Run {
		for name, tb := range d.extraction() {
			conn.Set(name, tb.Header, tb.Rows...)
		}
		// A change to export incrementally since: the snapshot's cursor
		// moves on, so that a run's success changes it.
		conn.SetChanges("User", "command", []string{"command", "id"})
		run, err := eng.Run(ctx, conn, nil)
		require.ErrorIs(t, err, idsync.ErrBlocked, "thresholds block the run")
		return run
	}
	first := blocked(crashInitial()) // a first load blocks
	_, err := eng.Resume(ctx, first.ID, nil)
	require.NoError(t, err)
	f.first = first.ID
	run := blocked(crashPlanned())
	f.run, err = s.LoadRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, idsync.Blocked, f.run.State)
	require.Equal(t, "2", f.run.Cursor)
	f.state, err = s.ConnectorState(ctx, "HR")
	require.NoError(t, err)
	require.Equal(t, idsync.ConnectorState{BlockedRun: run.ID, Cursor: "1", LastRun: first.ID, PreviousSnapshot: first.ID, Previous: fpOf(s, 1)}, f.state)
	f.before = digestOf(t, s)
	cs, err := run.ChangeSet()
	require.NoError(t, err)
	t.Logf("blocked run %s: %d changes: %d users inserted, %d updated, %d deleted, %d links inserted, %d deleted", run.ID, cs.Len(),
		cs.EntityTypes()[0].Inserted, cs.EntityTypes()[0].Updated, cs.EntityTypes()[0].Deleted,
		cs.Associations()[0].Inserted, cs.Associations()[0].Deleted)
	require.NoError(t, s.Close())

	// The expected states, on a memstore: another store, so with a plan of
	// its own (the same changes: it holds the same state).
	m := testModel("HR")
	mem := memstore.New()
	apply(t, mem, m, crashInitial().extraction())
	require.Equal(t, f.before, digestOf(t, mem))
	require.NoError(t, mem.Apply(ctx, plan(t, mem, m, crashPlanned().extraction())))
	f.after = digestOf(t, mem)
	require.Equal(t, "1", f.before.fp)
	require.Equal(t, "2", f.after.fp)
	t.Logf("before: %+v, planned: %+v", f.before, f.after)
	return f
}

// crashRunConnector exports the planned data, with thresholds off and the
// cursor "3".
func crashRunConnector() *memconn.Connector {
	m := testModel("HR")
	m.Thresholds = threshold.Off()
	conn := memconn.New(m)
	for name, tb := range crashPlanned().extraction() {
		conn.Set(name, tb.Header, tb.Rows...)
	}
	for range 3 {
		conn.SetChanges("User", "command", []string{"command", "id"})
	}
	return conn
}

// snapshotDir is the folder of a connector's previous snapshot.
func snapshotDir(work, snapshot string) string {
	return filepath.Join(work, "connectors", "HR", "snapshots", snapshot)
}

// check reads what the store and the work folder hold, checks that it is
// all as before the resume or all as the resume by actor commits, and
// reports which. dead is the run of a child killed in Engine.Run, or "":
// the connector's state may name it as running.
func (f *crashFixture) check(t *testing.T, s *sqlstore.Store, work, actor, dead string) (applied bool) {
	t.Helper()
	ctx := context.Background()
	got := digestOf(t, s)
	run, err := s.LoadRun(ctx, f.run.ID)
	require.NoError(t, err)
	state, err := s.ConnectorState(ctx, "HR")
	require.NoError(t, err)
	if dead != "" && state.Running == dead {
		state.Running = ""
	}
	runs, err := s.Runs(ctx, idsync.RunQuery{})
	require.NoError(t, err)
	assert.Len(t, runs, map[bool]int{false: 2, true: 3}[dead != ""], "the first run, the blocked one, the dead one")
	switch got {
	case f.before:
		assert.Equal(t, f.run, run, "the resources and links are as before the resume: so is the run's record")
		assert.Equal(t, f.state, state, "the resources and links are as before the resume: so is the connector's state")
		assert.FileExists(t, filepath.Join(snapshotDir(work, f.first), "User.prepared"), "the snapshot that the state points to")
		return false
	case f.after:
		fp, err := s.Fingerprint(ctx, "HR")
		require.NoError(t, err)
		assert.Equal(t, fpOf(s, 2), fp)
		assert.Equal(t, idsync.ConnectorState{Cursor: f.run.Cursor, LastRun: f.run.ID, PreviousSnapshot: f.run.ID, Previous: fp}, state,
			"the resources and links are as planned: the connector's state is the run's success")
		assert.Equal(t, idsync.Succeeded, run.State, "the resources and links are as planned: the run succeeded")
		assert.False(t, run.Ended.IsZero())
		if assert.NotNil(t, run.Review) {
			assert.Equal(t, "resume", run.Review.Action)
			assert.Equal(t, actor, run.Review.Actor)
		}
		same := *run
		same.State, same.Ended, same.Review = f.run.State, f.run.Ended, f.run.Review
		assert.Equal(t, f.run, &same, "the run's record is the blocked one's, succeeded")
		assert.FileExists(t, filepath.Join(snapshotDir(work, f.run.ID), "User.prepared"), "the snapshot that the state points to")
		return true
	}
	t.Fatalf("the store's resources and links are a mix: %+v, want %+v or %+v", got, f.before, f.after)
	return false
}

// copyWork copies a work folder, linking its files: the engine never
// writes a file of a run or snapshot again once it is complete. Lock files,
// written in place, are left out (they are made as needed).
func copyWork(t *testing.T, from, to string) {
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		switch {
		case d.IsDir():
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		case strings.HasSuffix(d.Name(), ".lock"):
			return nil
		}
		return os.Link(path, filepath.Join(to, rel))
	})
	require.NoError(t, err)
}

// A crashMoment is when a round kills the child: delay after it prints the
// line on (never if on is ""), delay being given the times of the lines
// in a resume that ran to its end.
type crashMoment struct {
	name  string
	on    string
	delay func(full map[string]time.Duration) time.Duration
	// pause, if set, makes the child sleep in its transaction just
	// before COMMIT ("commit"), just after COMMIT ("committed"), or once
	// the engine returned ("end").
	pause string
	// run makes the child run (Engine.Run) instead of resuming.
	run bool
}

func at(d time.Duration) func(map[string]time.Duration) time.Duration {
	return func(map[string]time.Duration) time.Duration { return d }
}

// intoApply is a fraction of the apply's time, up to the commit.
func intoApply(frac float64) func(map[string]time.Duration) time.Duration {
	return func(full map[string]time.Duration) time.Duration {
		return time.Duration(frac * float64(full[markCommitting]-full[markApplying]))
	}
}

// crashMoments are the rounds' moments: in short mode, the deterministic
// ones only (the child sleeps where it is killed).
func crashMoments(random int) []crashMoment {
	if testing.Short() {
		return []crashMoment{
			{name: "as the resume starts", on: markStarting, delay: at(0)},
			{name: "paused in the transaction just before COMMIT", on: markPaused, delay: at(0), pause: "commit"},
			{name: "paused just after COMMIT", on: markCommitted, delay: at(0), pause: "committed"},
			{name: "run: paused in the transaction just before COMMIT", on: markPaused, delay: at(0), pause: "commit", run: true},
			{name: "run: paused just after COMMIT", on: markCommitted, delay: at(0), pause: "committed", run: true},
		}
	}
	moments := []crashMoment{
		{name: "never (to time a resume)"},
		{name: "as the resume starts", on: markStarting, delay: at(0)},
		{name: "early in the apply", on: markApplying, delay: intoApply(0.1)},
		{name: "late in the apply", on: markApplying, delay: intoApply(0.9)},
		{name: "paused in the transaction just before COMMIT", on: markPaused, delay: at(0), pause: "commit"},
		{name: "as it commits", on: markCommitting, delay: at(0)},
		{name: "paused just after COMMIT", on: markCommitted, delay: at(0), pause: "committed"},
		{name: "paused once Resume returned", on: markReturned, delay: at(0), pause: "end"},
		{name: "run: in the middle of the apply", on: markApplying, delay: intoApply(0.5), run: true},
		{name: "run: paused in the transaction just before COMMIT", on: markPaused, delay: at(0), pause: "commit", run: true},
		{name: "run: paused just after COMMIT", on: markCommitted, delay: at(0), pause: "committed", run: true},
	}
	for range random {
		moments = append(moments, crashMoment{name: "at a random moment of the resume", on: markStarting,
			delay: func(full map[string]time.Duration) time.Duration {
				return time.Duration(rand.Float64() * 1.1 * float64(full[markReturned]))
			}})
	}
	return moments
}

// landed says where a kill landed from the last line the child printed
// (a child that ended on its own printed markReturned), and whether the
// store must hold the state from before the child's run ("before"), the
// state it commits ("after"), or either ("").
func landed(last string, killed bool) (where, want string) {
	switch {
	case !killed:
		return "after it ended", "after"
	case last == "":
		return "before the engine was called", "before"
	case last == markStarting:
		return "before the apply", "before"
	case last == markApplying:
		return "during the apply", "before"
	case last == markCommitting:
		return "during the commit", ""
	case last == markPaused:
		return "in the transaction before COMMIT", "before"
	}
	return "after the commit", "after"
}

// crashTest makes the fixture in the store at initialURL, then for each
// moment gets a store holding the fixture's from next (and a copy of its
// work folder), runs the child on it, kills it at that moment, calls
// settle, and checks the store; then it resumes the blocked run again,
// which must succeed if the child did not commit, and be refused if it
// did.
func crashTest(t *testing.T, initialURL string, next func(t *testing.T, round int) string, settle func(t *testing.T, round int)) {
	ctx := context.Background()
	began := time.Now()
	f := newCrashFixture(t, initialURL)
	t.Logf("fixture made in %v", time.Since(began).Round(time.Millisecond))
	var full map[string]time.Duration
	seen := map[string]int{}
	random := 2
	if raceEnabled {
		random = 1
	}
	for round, mo := range crashMoments(random) {
		began := time.Now()
		url := next(t, round)
		work := filepath.Join(t.TempDir(), "work")
		copyWork(t, f.work, work)
		child := runChild(t, url, work, f.run.ID, mo, full)
		if mo.on == "" {
			require.False(t, child.killed)
			full = child.times
			t.Logf("a resume in the child: %v", child.times)
		}
		if settle != nil {
			settle(t, round)
		}
		s := postgresOrSQLite(t, strings.Split(url, "&application_name=")[0])
		eng := idsync.New(s, &idsync.Options{WorkDir: work, Logger: slog.New(slog.DiscardHandler)})
		where, want := landed(child.last, child.killed)
		var applied bool
		var dead string
		if mo.run {
			applied, dead = f.checkRun(t, eng, s, work)
		} else {
			applied = f.check(t, s, work, "child", "")
		}
		outcome := map[bool]string{false: "before", true: "after"}[applied]
		if want != "" {
			require.Equal(t, want, outcome, "round %d: killed %s: the store must hold the state %s the child's run", round, where, want)
		}
		seen[where]++

		// The parent resumes the blocked run: it still waits if the
		// child did not commit, and no longer if it did.
		run, err := eng.Resume(ctx, f.run.ID, &idsync.ReviewOptions{Actor: "parent"})
		switch {
		case !applied:
			require.NoError(t, err, "round %d: the run is still blocked: it resumes", round)
			assert.Equal(t, idsync.Succeeded, run.State)
			require.True(t, f.check(t, s, work, "parent", dead), "round %d: the parent's resume commits all", round)
		case mo.run:
			require.ErrorIs(t, err, idsync.ErrRunState, "round %d: the run was superseded: it cannot be resumed", round)
			applied, _ := f.checkRun(t, eng, s, work)
			require.True(t, applied, "round %d: a refused resume changes nothing", round)
		default:
			require.ErrorIs(t, err, idsync.ErrRunState, "round %d: the run succeeded: it is resumed once", round)
			require.True(t, f.check(t, s, work, "child", ""), "round %d: a refused resume changes nothing", round)
		}
		require.NoError(t, s.Close())
		t.Logf("round %d (%v): killed %s, %s (last line %q): the store holds the state %s the child's run; the parent's resume %s",
			round, time.Since(began).Round(time.Millisecond), mo.name, where, child.last, outcome, map[bool]string{false: "succeeds", true: "is refused"}[applied])
	}
	t.Logf("kills landed: %v", seen)
	if !testing.Short() {
		assert.NotZero(t, seen["during the apply"], "no kill landed during an apply")
	}
	assert.NotZero(t, seen["after the commit"], "no kill landed after a commit")
}

// checkRun is check for a child that ran (crashRunConnector) instead of
// resuming: either everything is as before, the blocked run still blocked
// and the child's run failed (its process died: the engine shows it
// interrupted), or everything is as the run commits: its changes, the run
// succeeded, the blocked run cancelled, superseded by it, the connector's
// state the run's success. It returns the child's run if it failed.
func (f *crashFixture) checkRun(t *testing.T, eng *idsync.Engine, s *sqlstore.Store, work string) (applied bool, dead string) {
	t.Helper()
	ctx := context.Background()
	runs, err := eng.Runs(ctx, &idsync.RunQuery{}) // reaps a dead run
	require.NoError(t, err)
	var run *idsync.Run
	for _, r := range runs {
		if r.ID != f.run.ID && r.ID != f.first {
			run = r
		}
	}
	if got := digestOf(t, s); got == f.before {
		if run != nil {
			assert.Equal(t, idsync.Failed, run.State, "the resources and links are as before: the run did not succeed")
			assert.Contains(t, run.Error, "interrupted")
			dead = run.ID
		}
		return f.check(t, s, work, "", dead), dead
	} else if got != f.after {
		t.Fatalf("the store's resources and links are a mix: %+v, want %+v or %+v", got, f.before, f.after)
	}
	require.NotNil(t, run, "the resources and links are as planned: by a run")
	assert.Equal(t, idsync.Succeeded, run.State, "the resources and links are as planned: the run succeeded")
	assert.Equal(t, "3", run.Cursor)
	blocked, err := s.LoadRun(ctx, f.run.ID)
	require.NoError(t, err)
	assert.Equal(t, idsync.Cancelled, blocked.State, "the run superseded the blocked one")
	assert.Equal(t, "superseded by run "+run.ID, blocked.Error)
	same := *blocked
	same.State, same.Ended, same.Error = f.run.State, f.run.Ended, f.run.Error
	assert.Equal(t, f.run, &same)
	state, err := s.ConnectorState(ctx, "HR")
	require.NoError(t, err)
	fp, err := s.Fingerprint(ctx, "HR")
	require.NoError(t, err)
	assert.Equal(t, fpOf(s, 2), fp)
	assert.Equal(t, idsync.ConnectorState{Cursor: "3", LastRun: run.ID, PreviousSnapshot: run.ID, Previous: fp}, state,
		"the resources and links are as planned: the connector's state is the run's success")
	assert.FileExists(t, filepath.Join(snapshotDir(work, run.ID), "User.prepared"), "the snapshot that the state points to")
	return true, ""
}

func postgresOrSQLite(t *testing.T, url string) *sqlstore.Store {
	s, err := sqlstore.Open(context.Background(), url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// childRun is what the parent saw of a child: when it printed its lines
// (from markStarting), the last one, whether SIGKILL ended it.
type childRun struct {
	times  map[string]time.Duration
	last   string
	killed bool
}

// runChild runs TestCrashHelper on the store at url and the work folder
// work, and kills it with SIGKILL at the moment mo (full are the times of
// a resume that ran to its end).
func runChild(t *testing.T, url, work, runID string, mo crashMoment, full map[string]time.Duration) childRun {
	// -test.short too, if given: the child's crashPlanned is the parent's.
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v", fmt.Sprintf("-test.short=%v", testing.Short()))
	cmd.Env = append(os.Environ(), crashURLEnv+"="+url, crashWorkEnv+"="+work, crashRunEnv+"="+runID)
	if mo.run {
		cmd.Env = append(cmd.Env, crashModeEnv+"=run")
	}
	if mo.pause != "" {
		cmd.Env = append(cmd.Env, crashPauseEnv+"="+mo.pause)
	}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	res := childRun{times: map[string]time.Duration{}}
	var start time.Time
	var kill <-chan time.Time
	hung := time.After(2 * time.Minute)
	for lines != nil {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			mark, rest, _ := strings.Cut(line, " ")
			if !slices.Contains(crashMarks, mark) {
				if strings.Contains(line, "Error") || strings.Contains(line, "FAIL") || strings.Contains(line, "panic") {
					t.Log("child:", line)
				}
				continue
			}
			now := time.Now()
			if mark == markStarting {
				start = now
			}
			res.times[mark], res.last = now.Sub(start), mark
			if mark == markReturned && rest != "<nil>" {
				t.Log("child: Resume:", rest)
			}
			if mark == mo.on {
				kill = time.After(mo.delay(full))
			}
		case <-kill:
			kill = nil
			cmd.Process.Signal(syscall.SIGKILL)
		case <-hung:
			cmd.Process.Kill()
			t.Errorf("the child still runs after 2 minutes (last line %q): killed", res.last)
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		res.killed = true
		return res
	}
	var exit *exec.ExitError
	require.False(t, errors.As(err, &exit), "the child failed: %v", err)
	require.NoError(t, err)
	require.Equal(t, markReturned, res.last, "the child ended on its own")
	return res
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
