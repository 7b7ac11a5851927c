package sync_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/threshold"
)

func sabModel() *entitytype.Model {
	return &entitytype.Model{
		Name: "SAB",
		EntityTypes: []entitytype.EntityType{
			{Name: "SAB_User", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "name", Column: "Name"},
				{Name: "hireDate", Column: "HireDate", Type: entitytype.Date, Format: "dd/MM/yyyy"},
				{Name: "active", Column: "Active", Type: entitytype.Bool},
				{Name: "org", Column: "Org", Type: entitytype.Ref, Target: "SAB_Org"},
			}},
			{Name: "SAB_Org", Key: []string{"code"}, Properties: []entitytype.Property{
				{Name: "code", Column: "Code"}, {Name: "label", Column: "Label"},
			}},
			{Name: "SAB_Group", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "GroupID"}, {Name: "name", Column: "Name"},
			}},
		},
		Associations: []entitytype.Association{
			{Name: "SAB_Members", Source: entitytype.End{EntityType: "SAB_Group", Column: "GroupID"},
				Target: entitytype.End{EntityType: "SAB_User", Column: "UserID"}},
		},
	}
}

var userHeader = []string{"ID", "Name", "HireDate", "Active", "Org"}

func day1(c *memconn.Connector) {
	c.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "02/01/2024", "Y", "O1"},
		[]string{"U2", "Bob", "15/03/2020", "N", "O1"},
		[]string{"U3", "Cid", "01/12/2019", "1", "O2"},
	)
	c.Set("SAB_Org", []string{"Code", "Label"}, []string{"O1", "Sales"}, []string{"O2", "IT"})
	c.Set("SAB_Group", []string{"GroupID", "Name"}, []string{"G1", "All"}, []string{"G2", "Admins"})
	c.Set("SAB_Members", []string{"GroupID", "UserID"},
		[]string{"G1", "U1"}, []string{"G1", "U2"}, []string{"G1", "U3"}, []string{"G2", "U3"})
}

func TestFirstRunBlocksThenResumeApplies(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	eng := idsync.New(store, &idsync.Options{WorkDir: t.TempDir()})
	conn := memconn.New(sabModel())
	day1(conn)

	run, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	var exceeded *threshold.ExceededError
	require.True(t, errors.As(err, &exceeded))
	assert.Equal(t, idsync.Blocked, run.State)
	assert.Equal(t, 0, store.Count("SAB_User"), "a blocked run writes nothing")
	assert.EqualValues(t, 3, run.EntityTypes[0].Inserted)
	assert.EqualValues(t, 4, run.Associations[0].Inserted)

	blocked, err := eng.BlockedRun(context.Background(), "SAB")
	require.NoError(t, err)
	assert.Equal(t, run.ID, blocked)

	run, err = eng.Resume(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Succeeded, run.State)
	assert.Equal(t, map[string]string{"id": "U1", "name": "Ann", "hireDate": "2024-01-02", "active": "true", "org": "O1"}, store.Get("SAB_User", "U1"))
	assert.Equal(t, 4, store.LinkCount("SAB_Members"))
	assert.True(t, store.HasLink("SAB_Members", "G2", "U3"))

	_, err = eng.Resume(ctx, run.ID, nil)
	assert.ErrorIs(t, err, idsync.ErrRunState, "a run is resumed once")

	// Running the same extraction again changes nothing.
	run, err = eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	assert.Equal(t, idsync.Succeeded, run.State)
	for _, e := range run.EntityTypes {
		assert.Zero(t, e.Inserted+e.Updated+e.Deleted, e.Name)
	}
}

func TestRejectedRowsProtectStoredState(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	eng := idsync.New(store, &idsync.Options{WorkDir: t.TempDir()})
	m := sabModel()
	m.Thresholds = threshold.Limits{MaxPercentInserted: threshold.PercentOff(), MaxPercentDeleted: threshold.PercentOff(),
		MaxPercentUpdated: threshold.PercentOff(), MaxLinkPercentInserted: threshold.PercentOff(), MaxLinkPercentDeleted: threshold.PercentOff(),
		MaxPercentRejected: threshold.PercentOff()}
	conn := memconn.New(m)
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)

	// U1's date no longer converts, U2 appears twice, U3 names an unknown org.
	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "2024-13-45", "Y", "O1"},
		[]string{"U2", "Bob", "15/03/2020", "N", "O1"},
		[]string{"U2", "Bobby", "15/03/2020", "N", "O1"},
		[]string{"U3", "Cid", "01/12/2019", "1", "O9"},
		[]string{"", "Nobody", "01/12/2019", "1", "O1"},
	)
	run, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	u := run.EntityTypes[0]
	assert.EqualValues(t, 5, u.Read)
	assert.EqualValues(t, 5, u.Rejected)
	assert.Zero(t, u.Deleted, "rejected keys are never deleted")
	assert.Zero(t, u.Updated)
	assert.Equal(t, "Bob", store.Get("SAB_User", "U2")["name"])
	assert.Equal(t, 4, store.LinkCount("SAB_Members"), "links of protected keys are kept")

	rej, err := idsync.ReadReport(run.Dir() + "/prepared/errors.jsonl")
	require.NoError(t, err)
	codes := map[idsync.Reason]int{}
	for _, r := range rej {
		codes[r.Code]++
	}
	assert.Equal(t, map[idsync.Reason]int{idsync.InvalidValue: 1, idsync.DuplicateKey: 2, idsync.MissingReference: 1, idsync.NullKey: 1, idsync.RejectedEnd: 4}, codes)
}
