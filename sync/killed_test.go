package sync_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/sqlstore"
)

// stuckConn writes an export file, says so on standard output, and never
// finishes its export.
type stuckConn struct{ *memconn.Connector }

func (c stuckConn) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), make([]byte, 1<<20), 0o644); err != nil {
		return nil, err
	}
	os.Stdout.WriteString("exporting\n")
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestKilledRunShowsInterrupted kills a process in the middle of a run: the
// run is listed as running while its process lives, then as failed and
// interrupted, with its files removed; the next run goes ahead.
func TestKilledRunShowsInterrupted(t *testing.T) {
	if work := os.Getenv("IDSYNC_STUCK_WORK"); work != "" {
		eng := idsync.New(memstore.New(), &idsync.Options{WorkDir: work, StateInWorkDir: true})
		conn := memconn.New(open(sabModel()))
		eng.Run(context.Background(), stuckConn{conn}, nil)
		os.Exit(0)
	}
	work := t.TempDir()
	cmd := startStuck(t, "TestKilledRunShowsInterrupted", "IDSYNC_STUCK_WORK="+work)

	eng := idsync.New(memstore.New(), &idsync.Options{WorkDir: work, StateInWorkDir: true})
	runs, err := eng.Runs(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, runs, 1, "a run is visible from its start")
	assert.Equal(t, idsync.Running, runs[0].State, "its process holds the connector's lock")
	assert.FileExists(t, filepath.Join(runs[0].Dir(), "export", "users.csv"))

	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	runs, err = eng.Runs(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	run := runs[0]
	assert.Equal(t, idsync.Failed, run.State)
	assert.Contains(t, run.Error, "interrupted")
	assert.False(t, run.Ended.IsZero())
	ents, err := os.ReadDir(run.Dir())
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"run.json"}, names, "an interrupted run's files are removed")

	conn := memconn.New(open(sabModel()))
	day1(conn)
	next, err := eng.Run(context.Background(), conn, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Succeeded, next.State)
	again, err := eng.LoadRun(context.Background(), run.ID)
	require.NoError(t, err)
	assert.Equal(t, idsync.Failed, again.State)
}

// TestRunOfDeadProcessReapedByNextRun: a run left running in the
// connector's state by a process that died is marked interrupted by the
// next run of the connector, which holds the lock.
func TestRunOfDeadProcessReapedByNextRun(t *testing.T) {
	if work := os.Getenv("IDSYNC_STUCK_WORK2"); work != "" {
		eng := idsync.New(memstore.New(), &idsync.Options{WorkDir: work, StateInWorkDir: true})
		eng.Run(context.Background(), stuckConn{memconn.New(open(sabModel()))}, nil)
		os.Exit(0)
	}
	work := t.TempDir()
	cmd := startStuck(t, "TestRunOfDeadProcessReapedByNextRun", "IDSYNC_STUCK_WORK2="+work)
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()

	eng := idsync.New(memstore.New(), &idsync.Options{WorkDir: work, StateInWorkDir: true, Now: func() time.Time { return time.Now().Add(time.Second) }})
	conn := memconn.New(open(sabModel()))
	day1(conn)
	next, err := eng.Run(context.Background(), conn, nil)
	require.NoError(t, err)
	// Read the records as they are on disk, before anything else looks.
	ents, err := os.ReadDir(filepath.Join(work, "runs"))
	require.NoError(t, err)
	require.Len(t, ents, 2)
	for _, e := range ents {
		var r idsync.Run
		b, err := os.ReadFile(filepath.Join(work, "runs", e.Name(), "run.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &r))
		if r.ID == next.ID {
			assert.Equal(t, idsync.Succeeded, r.State)
			continue
		}
		assert.Equal(t, idsync.Failed, r.State, "the next run marked it")
		assert.Contains(t, r.Error, "interrupted")
	}
}

// TestRunOfAnotherInstanceNotReaped: two instances share a store that
// keeps the engine's state (SQLite here), each with a work folder of its
// own. A run in progress in one is shown running by the other, not as
// interrupted, until its process dies.
func TestRunOfAnotherInstanceNotReaped(t *testing.T) {
	if db := os.Getenv("IDSYNC_STUCK_DB"); db != "" {
		store, err := sqlstore.Open(context.Background(), "sqlite:"+db, nil)
		if err != nil {
			os.Exit(2)
		}
		eng := idsync.New(store, &idsync.Options{WorkDir: os.Getenv("IDSYNC_STUCK_WORK3")})
		eng.Run(context.Background(), stuckConn{memconn.New(open(sabModel()))}, nil)
		os.Exit(0)
	}
	db := filepath.Join(t.TempDir(), "shared.db")
	store, err := sqlstore.Open(context.Background(), "sqlite:"+db, nil)
	require.NoError(t, err)
	defer store.Close()
	cmd := startStuck(t, "TestRunOfAnotherInstanceNotReaped", "IDSYNC_STUCK_DB="+db, "IDSYNC_STUCK_WORK3="+t.TempDir())

	other := idsync.New(store, &idsync.Options{WorkDir: t.TempDir()})
	runs, err := other.Runs(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, runs, 1, "the other instance's run is listed from the shared store")
	assert.Equal(t, idsync.Running, runs[0].State, "its process holds the store's lock of the connector")

	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	runs, err = other.Runs(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, idsync.Failed, runs[0].State)
	assert.Contains(t, runs[0].Error, "interrupted")
}

// startStuck runs the test named test in a child process with env, and
// returns once its run is stuck in the export; the child is killed at the
// test's end if still alive.
func startStuck(t *testing.T, test string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "exporting\n", line)
	return cmd
}
