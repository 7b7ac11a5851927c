package sync_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/threshold"
)

// open switches every threshold off so that runs apply.
func open(m *entitytype.Model) *entitytype.Model {
	m.Thresholds = threshold.Off()
	return m
}

func newEngine(t *testing.T) (*idsync.Engine, *memstore.Store) {
	store := memstore.New()
	return idsync.New(store, &idsync.Options{WorkDir: t.TempDir()}), store
}

func TestCancelDiscardsBlockedRun(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(sabModel())
	day1(conn)
	run, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)

	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.ErrorIs(t, err, idsync.ErrConnectorBlocked, "incremental runs of a blocked connector are refused")

	run, err = eng.Cancel(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Cancelled, run.State)
	_, err = eng.Resume(ctx, run.ID, nil)
	assert.ErrorIs(t, err, idsync.ErrRunState, "a cancelled run cannot be resumed")
	assert.NoDirExists(t, filepath.Join(run.Dir(), "changes"))
	blocked, _ := eng.BlockedRun(context.Background(), "SAB")
	assert.Empty(t, blocked)
	assert.Zero(t, store.Count("SAB_User"))
}

func TestCompleteRunClearsBlock(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	m := sabModel()
	conn := memconn.New(m)
	day1(conn)
	first, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)

	m.Thresholds = open(sabModel()).Thresholds
	run, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Succeeded, run.State)
	blocked, _ := eng.BlockedRun(context.Background(), "SAB")
	assert.Empty(t, blocked, "a successful complete run clears the block")
	assert.Equal(t, 3, store.Count("SAB_User"))

	_, err = eng.Resume(ctx, first.ID, nil)
	assert.ErrorIs(t, err, idsync.ErrRunState, "the blocked run was superseded")
	first, err = eng.LoadRun(context.Background(), first.ID)
	require.NoError(t, err)
	assert.Equal(t, idsync.Cancelled, first.State)
	assert.Contains(t, first.Error, "superseded by run "+run.ID)
	assert.Equal(t, 3, store.Count("SAB_User"))
}

func TestNewBlockedRunSupersedesOlder(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(sabModel())
	day1(conn)
	first, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	second, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	_, err = eng.Resume(ctx, first.ID, nil)
	require.ErrorIs(t, err, idsync.ErrRunState, "only the newest blocked run can be resumed")
	_, err = eng.Resume(ctx, second.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, store.Count("SAB_User"))
}

func TestResumeAfterConcurrentWriteIsStale(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(sabModel())
	day1(conn)
	run, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	store.Put("SAB", "SAB_User", "U9", map[string]string{"id": "U9"})
	_, err = eng.Resume(ctx, run.ID, nil)
	require.ErrorIs(t, err, idsync.ErrStalePlan)
	assert.Equal(t, 1, store.Count("SAB_User"), "nothing written")
	run, err = eng.LoadRun(context.Background(), run.ID)
	require.NoError(t, err)
	assert.Equal(t, idsync.Blocked, run.State)
}

func TestTamperedChangeSetIsRefused(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(sabModel())
	day1(conn)
	run, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	f := filepath.Join(run.Dir(), "changes", "SAB_User.changes")
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	b[len(b)-1] ^= 1
	require.NoError(t, os.WriteFile(f, b, 0o644))
	_, err = eng.Resume(ctx, run.ID, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "modified after planning")
	assert.Zero(t, store.Count("SAB_User"))
}

func TestPlanWritesNothing(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	before, _ := store.Fingerprint(ctx, "SAB")
	run, err := eng.Plan(ctx, conn, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Planned, run.State)
	assert.EqualValues(t, 3, run.EntityTypes[0].Inserted)
	assert.Zero(t, store.Count("SAB_User"))
	fp, _ := store.Fingerprint(ctx, "SAB")
	assert.Equal(t, before, fp)
}

func TestEmptyExtractionRefusedInCompleteMode(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)

	conn.Set("SAB_User", userHeader)
	run, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrEmptyExtraction)
	assert.Equal(t, idsync.Failed, run.State)
	assert.Equal(t, 3, store.Count("SAB_User"))

	run, err = eng.Run(ctx, conn, &idsync.RunOptions{AllowEmpty: true})
	require.NoError(t, err, "allowed explicitly")
	assert.EqualValues(t, 3, run.EntityTypes[0].Deleted)
	assert.Zero(t, store.Count("SAB_User"))
}

func TestMissingColumnStopsTheRun(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	conn.Set("SAB_User", []string{"ID", "Name", "Active", "Org"}, []string{"U1", "Ann", "Y", "O1"})
	run, err := eng.Run(ctx, conn, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `column "HireDate" not found`)
	assert.Equal(t, idsync.Failed, run.State)
	assert.Equal(t, 3, store.Count("SAB_User"), "no change computed for it")
}

func TestReorderedColumnsChangeNothing(t *testing.T) {
	ctx := context.Background()
	eng, _ := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	conn.Set("SAB_User", []string{"Org", "Extra", "Active", "ID", "HireDate", "Name"},
		[]string{"O1", "x", "Y", "U1", "02/01/2024", "Ann"},
		[]string{"O1", "y", "N", "U2", "15/03/2020", "Bob"},
		[]string{"O2", "z", "1", "U3", "01/12/2019", "Cid"},
	)
	run, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	u := run.EntityTypes[0]
	assert.Zero(t, u.Inserted+u.Updated+u.Deleted)
	p, err := os.ReadFile(filepath.Join(run.Dir(), "prepared", "summary.json"))
	require.NoError(t, err)
	assert.Contains(t, string(p), "columns added: Extra", "schema drift is reported")
}

func TestIncrementalFromPreviousSnapshot(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.ErrorIs(t, err, idsync.ErrNoPrevious)
	require.Zero(t, store.Count("SAB_User"))

	_, err = eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "02/01/2024", "Y", "O1"},
		[]string{"U3", "Cyd", "01/12/2019", "1", "O2"},
		[]string{"U4", "Dee", "01/12/2021", "0", "O2"},
	)
	run, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	u := run.EntityTypes[0]
	assert.Equal(t, [3]int64{1, 1, 1}, [3]int64{u.Inserted, u.Updated, u.Deleted})
	assert.Nil(t, store.Get("SAB_User", "U2"))
	assert.Equal(t, "Cyd", store.Get("SAB_User", "U3")["name"])
	assert.Equal(t, "false", store.Get("SAB_User", "U4")["active"])
}

func TestIncrementalWithCommands(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel())) // one model for both modes
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)

	hdr := append([]string{"Op"}, userHeader...)
	conn.SetChanges("SAB_User", "Op", hdr,
		[]string{"insert", "U1", "Ann B", "02/01/2024", "Y", "O1"}, // insert of a stored key: an update
		[]string{"update", "U8", "Hal", "02/01/2024", "Y", "O1"},   // update of a missing key: rejected
		[]string{"delete", "U9", "", "", "", ""},                   // delete of a missing key: no-op
		[]string{"delete", "U2", "", "", "", ""},
		[]string{"merge", "U5", "Eve", "02/01/2024", "Y", "O1"},
		[]string{"frobnicate", "U3", "", "", "", ""},
	)
	conn.SetChanges("SAB_Org", "Op", []string{"Op", "Code", "Label"})
	conn.SetChanges("SAB_Group", "Op", []string{"Op", "GroupID", "Name"})
	conn.SetChanges("SAB_Members", "Op", []string{"Op", "GroupID", "UserID"}, []string{"delete", "G1", "U2"}, []string{"insert", "G2", "U1"})
	run, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	u := run.EntityTypes[0]
	assert.Equal(t, [4]int64{1, 1, 1, 1}, [4]int64{u.Inserted, u.Updated, u.Deleted, u.NoOps})
	assert.EqualValues(t, 2, u.Rejected, "bad command and update of a missing key")
	assert.Equal(t, "Ann B", store.Get("SAB_User", "U1")["name"])
	assert.Nil(t, store.Get("SAB_User", "U2"))
	assert.NotNil(t, store.Get("SAB_User", "U3"), "absence never means deletion")
	assert.Nil(t, store.Get("SAB_User", "U8"))
	assert.Equal(t, 4, store.LinkCount("SAB_Members"))
	assert.True(t, store.HasLink("SAB_Members", "G2", "U1"))
	assert.False(t, store.HasLink("SAB_Members", "G1", "U2"))
}

func TestCancelledContextWritesNothing(t *testing.T) {
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run, err := eng.Run(ctx, conn, nil)
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Equal(t, idsync.Cancelled, run.State)
	assert.Zero(t, store.Count("SAB_User"))
}

func TestApplyFailureLeavesStoreUnchanged(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	store.FailAfter(5)
	run, err := eng.Run(ctx, conn, nil)
	require.Error(t, err)
	assert.Equal(t, idsync.Failed, run.State)
	assert.Zero(t, store.Count("SAB_User"))
	assert.Zero(t, store.LinkCount("SAB_Members"))
	store.FailAfter(0)
	_, err = eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, store.Count("SAB_User"))
}

func TestDeactivatedConnectorSkippedByJobs(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	require.NoError(t, eng.SetActive(context.Background(), "SAB", false))
	res, err := eng.RunJob(ctx, []connector.Connector{conn}, nil)
	require.NoError(t, err)
	assert.True(t, res.Connectors[0].Skipped)
	assert.Zero(t, store.Count("SAB_User"))
	require.NoError(t, eng.SetActive(context.Background(), "SAB", true))
	res, err = eng.RunJob(ctx, []connector.Connector{conn}, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Succeeded, res.State())
	assert.Equal(t, 3, store.Count("SAB_User"))
}

func TestPlanThatWouldBlockStaysPlanned(t *testing.T) {
	ctx := context.Background()
	eng, _ := newEngine(t)
	conn := memconn.New(sabModel())
	day1(conn)
	run, err := eng.Plan(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	assert.Equal(t, idsync.Planned, run.State)
	saved, err := eng.LoadRun(context.Background(), run.ID)
	require.NoError(t, err)
	assert.Equal(t, idsync.Planned, saved.State)
	blocked, _ := eng.BlockedRun(context.Background(), "SAB")
	assert.Empty(t, blocked, "a dry run does not block the connector")
	_, err = eng.Cancel(ctx, run.ID, nil)
	require.NoError(t, err)
}

func TestDisabledModelSkippedByJobs(t *testing.T) {
	eng, store := newEngine(t)
	m := open(sabModel())
	m.Disabled = true
	conn := memconn.New(m)
	day1(conn)
	res, err := eng.RunJob(context.Background(), []connector.Connector{conn}, nil)
	require.NoError(t, err)
	assert.True(t, res.Connectors[0].Skipped)
	assert.Zero(t, store.Count("SAB_User"))
}

func TestIncrementalRefusedWhenStoreChangedSincePreviousSnapshot(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	// A write the previous snapshot does not know of (or an apply whose
	// snapshots were lost in a crash) makes the snapshot unusable.
	store.Put("SAB", "SAB_User", "U9", map[string]string{"id": "U9"})
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.ErrorIs(t, err, idsync.ErrStaleSnapshot)
	assert.NotContains(t, err.Error(), "no previous snapshot")
	_, err = eng.Run(ctx, conn, nil)
	require.NoError(t, err, "a complete run starts afresh")
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
}
