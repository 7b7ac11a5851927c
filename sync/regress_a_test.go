package sync_test

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// Regression (review finding 1): a key protected in an incremental (snapshot) run is dropped from the
// promoted previous snapshot, so its later disappearance is never a delete.
func TestReviewProtectedKeyLostFromPrevious(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	require.Equal(t, 3, store.Count("SAB_User"))

	// Day 2: U2's hire date is bad: U2 is protected, nothing changes.
	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "02/01/2024", "Y", "O1"},
		[]string{"U2", "Bob", "99/99/2020", "N", "O1"},
		[]string{"U3", "Cid", "01/12/2019", "1", "O2"},
	)
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	require.NotNil(t, store.Get("SAB_User", "U2"))

	// Day 3: U2 left the source system.
	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "02/01/2024", "Y", "O1"},
		[]string{"U3", "Cid", "01/12/2019", "1", "O2"},
	)
	conn.Set("SAB_Members", []string{"GroupID", "UserID"},
		[]string{"G1", "U1"}, []string{"G1", "U3"}, []string{"G2", "U3"})
	run, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	t.Logf("day3 users: %+v", run.EntityTypes[0].EntityCounts)
	t.Logf("day3 links: %+v", run.Associations[0].LinkCounts)
	assert.Nil(t, store.Get("SAB_User", "U2"), "U2 disappeared since the last snapshot it was valid in: must be deleted")
}

// Regression (review finding 2): an expression key is not protected when another value is invalid.
func TestReviewExpressionKeyNotProtected(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	m := open(&entitytype.Model{Name: "X", EntityTypes: []entitytype.EntityType{{
		Name: "X_User", Key: []string{"id"}, Properties: []entitytype.Property{
			{Name: "id", Expression: "ID"},
			{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
		}}}})
	conn := memconn.New(m)
	conn.Set("X_User", []string{"ID", "Hired"}, []string{"u1", "01/01/2020"}, []string{"u2", "02/02/2020"})
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	require.Equal(t, 2, store.Count("X_User"))
	conn.Set("X_User", []string{"ID", "Hired"}, []string{"u1", "01/01/2020"}, []string{"u2", "not-a-date"})
	run, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	t.Logf("%+v protected=%d", run.EntityTypes[0].EntityCounts, run.EntityTypes[0].Protected)
	assert.NotNil(t, store.Get("X_User", "u2"), "a rejected row must never delete the stored resource with its key")
}

// Regression (review finding 3): SetActive during a run is overwritten when the run blocks.
type hookConn struct {
	*memconn.Connector
	hook func()
}

func (c hookConn) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	c.hook()
	return c.Connector.Export(ctx, dir)
}

func TestReviewSetActiveLostWhenRunBlocks(t *testing.T) {
	ctx := context.Background()
	eng, _ := newEngine(t)
	mc := memconn.New(sabModel())
	day1(mc)
	conn := hookConn{mc, func() { require.NoError(t, eng.SetActive(context.Background(), "SAB", false)) }}
	_, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	active, err := eng.Active(context.Background(), "SAB")
	require.NoError(t, err)
	assert.False(t, active, "the deactivation made during the run was lost")
}

// Regression (review finding 4): an empty association file in complete mode deletes every link.
func TestReviewEmptyAssociationFileDeletesAllLinks(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	conn.Set("SAB_Members", []string{"GroupID", "UserID"})
	_, err = eng.Run(ctx, conn, nil)
	assert.ErrorIs(t, err, idsync.ErrEmptyExtraction)
	assert.Equal(t, 4, store.LinkCount("SAB_Members"))
}

// Regression (review finding 5): incremental snapshot run with a blank file deletes everything.
func TestReviewEmptyIncrementalSnapshot(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	conn.Set("SAB_User", userHeader)
	conn.Set("SAB_Members", []string{"GroupID", "UserID"})
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	assert.ErrorIs(t, err, idsync.ErrEmptyExtraction)
	assert.Equal(t, 3, store.Count("SAB_User"))
}

// Regression (review finding 6): Prepare leaks the error report's temporary files (open handles) on
// an error path.
type failStore struct{ *memstore.Store }

func (failStore) Resources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return func(yield func(idsync.Record, error) bool) { yield(idsync.Record{}, errors.New("boom")) }
}

func countFDs(t *testing.T, substr string) int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func TestReviewPrepareLeaksReportFiles(t *testing.T) {
	ctx := context.Background()
	m := &entitytype.Model{Name: "X", EntityTypes: []entitytype.EntityType{{
		Name: "X_User", Key: []string{"id"}, Properties: []entitytype.Property{
			{Name: "id", Column: "ID"},
			{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
			{Name: "org", Column: "Org", Type: entitytype.Ref, Target: "HR.Org"},
		}}}}
	ext := memconn.Extraction{"X_User": memconn.Table{Header: []string{"ID", "Hired", "Org"},
		Rows: [][]string{{"u1", "bad", "O1"}, {"u2", "01/01/2020", "O1"}}}}
	dir := t.TempDir()
	before := countFDs(t, "report-")
	_, err := idsync.Prepare(ctx, m, ext, &idsync.PrepareOptions{Dir: dir, Store: failStore{memstore.New()}})
	require.Error(t, err)
	after := countFDs(t, "report-")
	left, _ := filepath.Glob(filepath.Join(dir, "report-*.tmp"))
	t.Logf("err=%v open report fds: %d -> %d; files left: %v", err, before, after, left)
	assert.Equal(t, before, after, "open file handles leaked")
}
