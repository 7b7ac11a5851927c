package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// TestInstancesShareStateAndArtifacts: two engines with work folders of
// their own share a store that keeps the state and an artifact store. A
// run blocked in one is listed, reviewed and resumed by the other; an
// incremental run in the first then diffs against the previous snapshot
// that the second kept; the work folders can be cleared between runs.
func TestInstancesShareStateAndArtifacts(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	arts := idsync.NewFolderArtifacts(t.TempDir())
	workA, workB := t.TempDir(), t.TempDir()
	a := idsync.New(store, &idsync.Options{WorkDir: workA, Artifacts: arts})
	b := idsync.New(store, &idsync.Options{WorkDir: workB, Artifacts: arts})

	conn := memconn.New(sabModel()) // default thresholds: the first load blocks
	day1(conn)
	blocked, err := a.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	require.NotEmpty(t, blocked.ChangesRef)
	require.NotEmpty(t, blocked.PreparedRef)

	listed, err := b.Runs(ctx, &idsync.RunQuery{States: []idsync.State{idsync.Blocked}})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	assert.Equal(t, blocked.ID, listed[0].ID, "B lists A's blocked run")
	cs, err := b.ChangeSet(ctx, listed[0])
	require.NoError(t, err, "B reviews its change set, fetched from the artifacts")
	assert.Equal(t, blocked.ChangeSetHash, cs.Hash())
	report, err := b.ErrorReport(ctx, listed[0])
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(report, idsync.ReportCSV))

	resumed, err := b.Resume(ctx, blocked.ID, &idsync.ReviewOptions{Actor: "bob"})
	require.NoError(t, err, "B resumes A's run")
	assert.Equal(t, idsync.Succeeded, resumed.State)
	assert.Equal(t, 3, store.Count("SAB_User"))

	// The work folders are scratch: clear them.
	for _, w := range []string{workA, workB} {
		require.NoError(t, os.RemoveAll(w))
	}
	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "02/01/2024", "Y", "O1"},
		[]string{"U3", "Cid", "01/12/2019", "1", "O2"},
	)
	conn.Set("SAB_Members", []string{"GroupID", "UserID"}, []string{"G1", "U1"}, []string{"G1", "U3"}, []string{"G2", "U3"})
	next, err := a.Run(ctx, memconn.New(open(sabModel())), &idsync.RunOptions{Mode: idsync.Incremental, Extraction: exportOf(t, conn)})
	require.NoError(t, err, "A diffs against the previous snapshot that B kept")
	assert.EqualValues(t, 1, next.EntityTypes[0].Deleted, "U2 vanished since the previous snapshot")
	assert.Nil(t, store.Get("SAB_User", "U2"))
	assert.False(t, store.HasLink("SAB_Members", "G1", "U2"))
}

// TestCorruptArtifactIsAnError: a change set whose artifact was altered is
// refused whole; nothing is applied.
func TestCorruptArtifactIsAnError(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	dir := t.TempDir()
	arts := idsync.NewFolderArtifacts(dir)
	a := idsync.New(store, &idsync.Options{WorkDir: t.TempDir(), Artifacts: arts})
	b := idsync.New(store, &idsync.Options{WorkDir: t.TempDir(), Artifacts: arts})
	conn := memconn.New(sabModel())
	day1(conn)
	blocked, err := a.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	// Alter every object of the connector's artifacts.
	require.NoError(t, filepath.Walk(filepath.Join(dir, "connectors", "SAB", "objects"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		return os.WriteFile(p, []byte("tampered"), 0o644)
	}))
	_, err = b.Resume(ctx, blocked.ID, nil)
	require.ErrorIs(t, err, idsync.ErrArtifactCorrupt)
	assert.Zero(t, store.Count("SAB_User"), "nothing applied")
	again, err := b.LoadRun(ctx, blocked.ID)
	require.NoError(t, err)
	assert.Equal(t, idsync.Blocked, again.State, "still blocked, for a new plan or a repaired bucket")
}

func exportOf(t *testing.T, c *memconn.Connector) memconn.Extraction {
	ext, err := c.Export(context.Background(), "")
	require.NoError(t, err)
	return ext.(*memconn.Snapshot).Extraction
}
