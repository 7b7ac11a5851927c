package sync_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// duSize is the size of the files under dir.
func duSize(t *testing.T, dir string) int64 {
	var n int64
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	}))
	return n
}

// TestRetention: daily runs of a connector keep the work folder's size
// bounded: after 30 runs it is at most 1.2 times what it was after 10.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	now := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	eng := idsync.New(memstore.New(), &idsync.Options{WorkDir: work, StateInWorkDir: true, Now: func() time.Time { return now }})
	conn := memconn.New(open(sabModel()))
	day1(conn)
	var after10 int64
	for day := 1; day <= 30; day++ {
		_, err := eng.Run(ctx, conn, nil)
		require.NoError(t, err)
		if day == 10 {
			after10 = duSize(t, work)
		}
		now = now.Add(24 * time.Hour)
	}
	after30 := duSize(t, work)
	t.Logf("work folder: %d bytes after 10 daily runs, %d after 30", after10, after30)
	assert.LessOrEqual(t, float64(after30), 1.2*float64(after10))
	runs, err := eng.Runs(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, runs, idsync.DefaultKeepRuns)
	assert.NoDirExists(t, filepath.Join(runs[0].Dir(), "export"), "export copies go when a run ends")
}

// TestPrune: Prune keeps the newest runs of each connector, deletes the
// older ones (those older than OlderThan, if set), never a blocked one.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	eng := idsync.New(memstore.New(), &idsync.Options{WorkDir: t.TempDir(), KeepRuns: -1, Now: func() time.Time { return now }})
	blockedConn := memconn.New(sabModel()) // a first load blocks
	day1(blockedConn)
	blocked, err := eng.Run(ctx, blockedConn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	var plans []*idsync.Run // oldest first
	conn := memconn.New(open(sabModel()))
	day1(conn)
	for range 5 {
		now = now.Add(time.Hour)
		r, err := eng.Plan(ctx, conn, nil)
		require.NoError(t, err)
		plans = append(plans, r)
	}
	all, err := eng.Runs(ctx, nil)
	require.NoError(t, err)
	require.Len(t, all, 6, "KeepRuns -1 prunes nothing when runs end")

	res, err := eng.Prune(ctx, &idsync.PruneOptions{Keep: 3, OlderThan: 150 * time.Minute})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{plans[0].ID, plans[1].ID}, res.Runs, "beyond the 3 newest, those older than 150 minutes; never the blocked one")
	res, err = eng.Prune(ctx, &idsync.PruneOptions{Keep: 1})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{plans[2].ID, plans[3].ID}, res.Runs)
	left, err := eng.Runs(ctx, nil)
	require.NoError(t, err)
	var ids []string
	for _, r := range left {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{plans[4].ID, blocked.ID}, ids)
	_, err = eng.LoadRun(ctx, plans[0].ID)
	assert.ErrorIs(t, err, idsync.ErrNotFound)
	assert.NoDirExists(t, plans[0].Dir())
	_, err = eng.Resume(ctx, blocked.ID, nil)
	require.NoError(t, err, "the blocked run is whole")
}
