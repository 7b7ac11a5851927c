package sync_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// Regressions found by the review of the shared engine state.

func hrUsers() *entitytype.Model {
	return &entitytype.Model{Name: "HR", EntityTypes: []entitytype.EntityType{
		{Name: "User", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}, {Name: "name", Column: "Name"}}},
	}}
}

// runOrResume runs and, if thresholds block the run, resumes it.
func runOrResume(t *testing.T, eng *idsync.Engine, opts *idsync.RunOptions) *idsync.Run {
	t.Helper()
	ctx := context.Background()
	run, err := eng.Run(ctx, memconn.New(hrUsers()), opts)
	if errors.Is(err, idsync.ErrBlocked) {
		run, err = eng.Resume(ctx, run.ID, nil)
	}
	require.NoError(t, err)
	require.Equal(t, idsync.Succeeded, run.State)
	return run
}

func hrRows(cmd string, rows ...[]string) memconn.Extraction {
	h := []string{"ID", "Name"}
	if cmd != "" {
		h = append(h, cmd)
	}
	return memconn.Extraction{"User": {Header: h, Rows: rows, Command: cmd}}
}

// A connector's delta changes the store without a snapshot of the table:
// an incremental run from a later snapshot must not diff against the
// snapshot from before the delta (U3, inserted by the delta and gone from
// the source, would never be deleted).
func TestDeltaLeavesNoStalePreviousSnapshot(t *testing.T) {
	store := memstore.New()
	eng := idsync.New(store, &idsync.Options{WorkDir: t.TempDir()})
	runOrResume(t, eng, &idsync.RunOptions{Extraction: hrRows("", []string{"U1", "Ann"}, []string{"U2", "Bob"})})
	runOrResume(t, eng, &idsync.RunOptions{Mode: idsync.Incremental, Extraction: hrRows("Op", []string{"U3", "Cid", "insert"})})
	require.NotNil(t, store.Get("User", "U3"))
	_, err := eng.Run(context.Background(), memconn.New(hrUsers()), &idsync.RunOptions{Mode: idsync.Incremental,
		Extraction: hrRows("", []string{"U1", "Ann"}, []string{"U2", "Bob"})})
	require.ErrorIs(t, err, idsync.ErrNoPrevious, "no snapshot of User describes the store since the delta")
	require.NotNil(t, store.Get("User", "U3"), "nothing applied")
	runOrResume(t, eng, &idsync.RunOptions{Extraction: hrRows("", []string{"U1", "Ann"}, []string{"U2", "Bob"})})
	assert.Nil(t, store.Get("User", "U3"), "a complete run deletes it")
}

// failCancelled is a StateStore whose SaveRun fails for a cancelled run: a
// process stopped between the writes of a block.
type failCancelled struct{ *memstore.Store }

func (f failCancelled) SaveRun(ctx context.Context, r *idsync.Run) error {
	if r.State == idsync.Cancelled {
		return errors.New("injected: connection lost")
	}
	return f.Store.SaveRun(ctx, r)
}

// A block that stops midway fails the new run and leaves the connector's
// blocked run as it was; a blocked run that the state no longer names is
// never resumed.
func TestReplacedBlockedRunNotResumable(t *testing.T) {
	ctx := context.Background()
	store := failCancelled{memstore.New()}
	eng := idsync.New(store, &idsync.Options{WorkDir: t.TempDir()})
	conn := memconn.New(hrUsers())
	r1, err := eng.Run(ctx, conn, &idsync.RunOptions{Extraction: hrRows("", []string{"U1", "Ann"})})
	require.ErrorIs(t, err, idsync.ErrBlocked)
	r2, err := eng.Run(ctx, conn, &idsync.RunOptions{Extraction: hrRows("", []string{"U1", "Ann"}, []string{"U2", "Bob"})})
	require.Error(t, err)
	assert.Equal(t, idsync.Failed, r2.State, "it could not record the run it supersedes")
	blocked, err := eng.BlockedRun(ctx, "HR")
	require.NoError(t, err)
	assert.Equal(t, r1.ID, blocked, "the connector's blocked run is still r1")

	// The state names another run (a newer one that stopped before it
	// recorded r1 as superseded): r1 is refused.
	require.NoError(t, store.UpdateConnectorState(ctx, "HR", func(s *idsync.ConnectorState) { s.BlockedRun = r2.ID }))
	_, err = eng.Resume(ctx, r1.ID, nil)
	require.ErrorIs(t, err, idsync.ErrRunState)
	assert.Zero(t, store.Count("User"), "nothing applied")
}

// A complete run recovers a connector whose previous snapshot is lost
// from the artifact store.
func TestCompleteRunWithoutPreviousArtifact(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	art := t.TempDir()
	eng := idsync.New(store, &idsync.Options{WorkDir: t.TempDir(), Artifacts: idsync.NewFolderArtifacts(art)})
	runOrResume(t, eng, &idsync.RunOptions{Extraction: hrRows("", []string{"U1", "Ann"})})
	st, _ := eng.ConnectorState(ctx, "HR")
	require.NotEmpty(t, st.PreviousSnapshot)
	require.NoError(t, os.RemoveAll(filepath.Join(art, "connectors", "HR", "manifests", st.PreviousSnapshot)))
	other := idsync.New(store, &idsync.Options{WorkDir: t.TempDir(), Artifacts: idsync.NewFolderArtifacts(art)})
	_, err := other.Run(ctx, memconn.New(hrUsers()), &idsync.RunOptions{Mode: idsync.Incremental, Extraction: hrRows("", []string{"U1", "Ann"})})
	require.ErrorIs(t, err, idsync.ErrArtifactNotFound, "an incremental run needs it, and says so")
	runOrResume(t, other, &idsync.RunOptions{Extraction: hrRows("", []string{"U1", "Ann"}, []string{"U2", "Bob"})})
	assert.Equal(t, 2, store.Count("User"))
}
