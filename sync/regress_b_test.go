package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// Regression (review finding 7): a reference to a key that is protected but not stored is accepted:
// the user is inserted with a dangling org.
func TestReviewRefToProtectedUnstoredKey(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	conn.Set("SAB_Org", []string{"Code", "Label"}, []string{"O1", "Sales"}, []string{"O2", "IT"},
		[]string{"O9", "New"}, []string{"O9", "New again"})
	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "02/01/2024", "Y", "O1"},
		[]string{"U2", "Bob", "15/03/2020", "N", "O1"},
		[]string{"U3", "Cid", "01/12/2019", "1", "O2"},
		[]string{"U4", "Dan", "01/12/2019", "1", "O9"},
	)
	_, err = eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	t.Logf("U4=%v O9=%v", store.Get("SAB_User", "U4"), store.Get("SAB_Org", "O9"))
	if u := store.Get("SAB_User", "U4"); u != nil {
		assert.NotNil(t, store.Get("SAB_Org", "O9"), "U4 stored with a reference to an org that does not exist")
	}
}

// Regression (review finding 8): the change-set hash does not cover the model used to decode it.
func TestReviewHashIgnoresModel(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(sabModel())
	day1(conn)
	run, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	f := filepath.Join(run.Dir(), "changes", "changeset.json")
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	s := strings.Replace(string(b), `"name": "hireDate"`, `"name": "salary"`, 1)
	require.NotEqual(t, string(b), s)
	require.NoError(t, os.WriteFile(f, []byte(s), 0o644))
	_, err = eng.Resume(ctx, run.ID, nil)
	t.Logf("resume err=%v U1=%v", err, store.Get("SAB_User", "U1"))
	assert.Error(t, err, "an edited change set must be refused")
}

// Regression (review finding 9): promote fails after the store committed: the run is recorded Failed.
func TestReviewPromoteFailureAfterApply(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	store := memstore.New()
	eng := idsync.New(store, &idsync.Options{WorkDir: work})
	require.NoError(t, os.MkdirAll(filepath.Join(work, "connectors", "SAB"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, "connectors", "SAB", "previous"), nil, 0o644))
	conn := memconn.New(open(sabModel()))
	day1(conn)
	run, err := eng.Run(ctx, conn, nil)
	t.Logf("err=%v state=%s users in store=%d", err, run.State, store.Count("SAB_User"))
	if store.Count("SAB_User") > 0 {
		assert.NotEqual(t, idsync.Failed, run.State, "the store holds the run's changes but the run says Failed")
	}
}
