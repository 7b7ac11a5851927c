package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/sqlstore"
)

// storedOrgs returns the number of HR_Org resources in the SQLite store
// at path (0 for a file that does not exist).
func storedOrgs(t *testing.T, path string) int64 {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	s, err := sqlstore.Open(context.Background(), "sqlite:"+path, nil)
	require.NoError(t, err)
	defer s.Close()
	n, err := s.Count(context.Background(), "HR_Org")
	require.NoError(t, err)
	return n
}

// applyLine returns the command of the "Apply:" line of a text output.
func applyLine(t *testing.T, out string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+Apply:\s+idsync (.*)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no Apply line in:\n%s", out)
	var words []string
	for _, w := range strings.Fields(m[1]) {
		words = append(words, strings.Trim(w, "'"))
	}
	return words
}

// TestResumeAppliesToTheRunsStore: a run into store A blocks; the Apply
// line that run and show print names A, not the default store; resume
// with --store B is refused (exit 4) and leaves B empty; the Apply line,
// pasted in another folder, applies into A. It once applied into a new,
// empty ./idsync.db and reported success.
func TestResumeAppliesToTheRunsStore(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	cfg := filepath.Join(dir, "idsync.yaml")
	a, b := filepath.Join(dir, "A.db"), filepath.Join(dir, "B.db")
	r := expect(t, dir, 3, "run", "--config", cfg, "--input", "day1", "--connector", "HR", "--store", "sqlite:A.db")
	require.Contains(t, applyLine(t, r.stdout), "sqlite:"+a, "the block summary's Apply line names the run's store:\n%s", r.stdout)
	id := regexp.MustCompile(`run (\S+)  BLOCKED`).FindStringSubmatch(r.stdout)[1]

	r = expect(t, dir, 0, "show", id)
	apply := applyLine(t, r.stdout)
	assert.Contains(t, apply, "sqlite:"+a, "show's Apply line names the run's store, not the default one")
	assert.Contains(t, r.stdout, "Store:   sqlite:"+a)

	// Another store: refused as stale, naming both, and B stays empty.
	r = expect(t, dir, 4, "resume", id, "--store", "sqlite:B.db")
	assert.Contains(t, r.stderr, "stale plan")
	assert.Contains(t, r.stderr, "sqlite:"+a)
	assert.Contains(t, r.stderr, "sqlite:"+b)
	assert.Zero(t, storedOrgs(t, b))
	assert.Zero(t, storedOrgs(t, a))

	// The Apply line, pasted, applies into A.
	r = expect(t, dir, 0, apply...)
	assert.Contains(t, r.stdout, "SUCCEEDED")
	assert.EqualValues(t, 5, storedOrgs(t, a))
	assert.NoFileExists(t, filepath.Join(dir, "idsync.db"), "the default store is not created")
}

// TestResumeWithoutStoreUsesTheRunsStore: resume without --store applies
// into the store the run was planned against.
func TestResumeWithoutStoreUsesTheRunsStore(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	a := filepath.Join(dir, "A.db")
	r := expect(t, dir, 3, "run", "--config", "idsync.yaml", "--input", "day1", "--connector", "HR", "--store", "sqlite:A.db", "--json")
	id := decode(t, r.stdout)["run"].(string)
	// From another folder: the run records its store's absolute path.
	other := t.TempDir()
	r = expect(t, other, 0, "resume", id, "--work", filepath.Join(dir, "idsync-work"))
	assert.Contains(t, r.stdout, "SUCCEEDED")
	assert.EqualValues(t, 5, storedOrgs(t, a))
	assert.NoFileExists(t, filepath.Join(dir, "idsync.db"))
	assert.NoFileExists(t, filepath.Join(other, "idsync.db"))
}

// TestEngineKeepsStoreAbilities: the engine of a command gets the store
// itself, with its optional interfaces, not a wrapper hiding them.
func TestEngineKeepsStoreAbilities(t *testing.T) {
	urls := []string{"sqlite:" + filepath.Join(t.TempDir(), "x.db")}
	if dsn := os.Getenv("IDSYNC_POSTGRES_DSN"); dsn != "" {
		urls = append(urls, dsn)
	} else if os.Getenv("CI") == "true" {
		t.Fatal("PostgreSQL required in CI: IDSYNC_POSTGRES_DSN is not set")
	} else {
		t.Log("IDSYNC_POSTGRES_DSN is not set: PostgreSQL not checked")
	}
	c := &cli{ctx: context.Background()}
	for _, u := range urls {
		st, err := openStore(c.ctx, u)
		require.NoError(t, err, redact(u))
		e := c.engineFor(st, &opts{work: t.TempDir()}, nil, nil)
		_, locker := e.Store().(idsync.Locker)
		_, sorted := e.Store().(idsync.SortedScanner)
		_, ider := e.Store().(idsync.Identifier)
		assert.True(t, locker, "%s: the engine's store is a Locker", redact(u))
		assert.True(t, sorted, "%s: the engine's store is a SortedScanner", redact(u))
		assert.True(t, ider, "%s: the engine's store is an Identifier", redact(u))
		st.close()
	}
}

// fifoInput copies day into a new folder whose hr_orgs.csv is a named
// pipe: a run reading it holds its connector's lock until the test
// writes the file with feed.
func fifoInput(t *testing.T, dir, day string) (input string, feed func()) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("named pipes: unix only")
	}
	input = t.TempDir()
	require.NoError(t, os.CopyFS(input, os.DirFS(filepath.Join(dir, day))))
	fifo := filepath.Join(input, "hr_orgs.csv")
	data, err := os.ReadFile(fifo)
	require.NoError(t, err)
	require.NoError(t, os.Remove(fifo))
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	return input, func() {
		t.Helper()
		// Wait for the reader: opening a pipe without one fails with ENXIO.
		deadline := time.Now().Add(30 * time.Second)
		for {
			f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err == nil {
				_, err = f.Write(data)
				require.NoError(t, err)
				require.NoError(t, f.Close())
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no run opened %s: %v", fifo, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// start starts the binary in dir; wait returns its outcome.
func start(t *testing.T, dir string, args ...string) (wait func() cmdResult, pid int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	return func() cmdResult {
		err := cmd.Wait()
		r := cmdResult{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	}, cmd.Process.Pid
}

// TestConcurrentRunsExclude: two idsync run processes of one connector on
// one SQLite store: the one that holds the lock succeeds, the other exits
// 5 naming the connector, and one with --wait waits, then succeeds. Such
// runs once overlapped and the loser failed at apply with exit 4.
func TestConcurrentRunsExclude(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	fl := flags(dir, "--connector", "HR")
	r := expect(t, dir, 3, args("run", fl, []string{"--input", filepath.Join(dir, "day1"), "--json"})...)
	expect(t, dir, 0, args("resume", []string{decode(t, r.stdout)["run"].(string)}, storeFlags(dir))...)

	input, feed := fifoInput(t, dir, "day2")
	first, pid := start(t, dir, args("run", fl, []string{"--input", input})...)
	// first holds HR's lock while it waits to read its pipe.
	waitForLock(t, filepath.Join(dir, "x.db"), pid)

	busy := expect(t, dir, 5, args("run", fl, []string{"--input", filepath.Join(dir, "day2")})...)
	assert.Contains(t, busy.stderr, "HR")
	assert.Contains(t, busy.stderr, "busy")
	assert.Contains(t, busy.stdout, "HR  BUSY")
	plan := expect(t, dir, 5, args("plan", fl, []string{"--input", filepath.Join(dir, "day2")})...)
	assert.Contains(t, plan.stderr, "HR")

	waiting, _ := start(t, dir, args("run", fl, []string{"--input", filepath.Join(dir, "day2"), "--wait"})...)
	time.Sleep(300 * time.Millisecond) // it waits for the lock meanwhile
	feed()
	r = first()
	require.Equal(t, 0, r.code, "first run:\n%s\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "SUCCEEDED")
	r = waiting()
	require.Equal(t, 0, r.code, "the waiting run:\n%s\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "SUCCEEDED")
}

// waitForLock waits until process pid holds a connector lock of the
// SQLite store at db: the lock files next to it name their holder.
func waitForLock(t *testing.T, db string, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(db+"-locks", "*.lock"))
		for _, f := range files {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), "pid "+strconv.Itoa(pid)+"\n") {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d took no lock of %s", pid, db)
}

// TestRunNeverExitsStale: a stale plan met by run is a runtime error
// (exit 1) telling to run again; exit 4 is resume's.
func TestRunNeverExitsStale(t *testing.T) {
	err := staleRun("HR", fmt.Errorf("idsync: apply: %w", idsync.ErrStalePlan))
	assert.Equal(t, exitError, exitCode(err))
	assert.Contains(t, err.Error(), "run again")
	assert.Contains(t, err.Error(), "HR")
	assert.Equal(t, exitBusy, exitCode(staleRun("HR", fmt.Errorf("x: %w", idsync.ErrBusy))))
}
