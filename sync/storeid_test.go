package sync_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// TestResumeIntoAnotherStoreRefused: a run blocked on store A, resumed by
// an engine on store B with the same work folder, is refused as stale,
// with both stores named, and B is left untouched. Two empty stores once
// gave a connector the same fingerprint, and such a resume applied.
// The work folder keeps the runs (as it does for stores that are no
// StateStore), shared by engines on two stores.
func TestResumeIntoAnotherStoreRefused(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	a, b := memstore.New(), memstore.New()
	engA := idsync.New(a, &idsync.Options{StateInWorkDir: true, WorkDir: work, StoreName: "sqlite:A.db"})
	conn := memconn.New(sabModel())
	day1(conn)
	run, err := engA.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	idA, _ := a.Identity(ctx)
	assert.Equal(t, "sqlite:A.db", run.StoreName, "the run names its store")
	assert.Equal(t, idA, run.StoreID)
	loaded, err := engA.LoadRun(context.Background(), run.ID)
	require.NoError(t, err)
	assert.Equal(t, idA, loaded.StoreID, "the identity is kept in run.json")

	engB := idsync.New(b, &idsync.Options{StateInWorkDir: true, WorkDir: work, StoreName: "sqlite:B.db"})
	_, err = engB.Resume(ctx, run.ID, nil)
	require.ErrorIs(t, err, idsync.ErrStalePlan)
	var mismatch *idsync.StoreMismatchError
	require.True(t, errors.As(err, &mismatch), "%v", err)
	assert.Contains(t, err.Error(), "sqlite:A.db")
	assert.Contains(t, err.Error(), "sqlite:B.db")
	assert.Zero(t, b.Count("SAB_User"), "nothing written into B")

	// A store that is no Identifier: the fingerprint alone refuses it.
	plain := idsync.New(struct{ idsync.Store }{memstore.New()}, &idsync.Options{StateInWorkDir: true, WorkDir: work})
	_, err = plain.Resume(ctx, run.ID, nil)
	require.ErrorIs(t, err, idsync.ErrStalePlan)

	// Into A, it applies.
	r, err := engA.Resume(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Succeeded, r.State)
	assert.Equal(t, 3, a.Count("SAB_User"))
}
