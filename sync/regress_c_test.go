package sync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

func TestReviewRefToKeyDeletedInSameDelta(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	m := open(&entitytype.Model{Name: "D", EntityTypes: []entitytype.EntityType{
		{Name: "D_User", Key: []string{"id"}, CommandColumn: "Op", Properties: []entitytype.Property{
			{Name: "id", Column: "ID"}, {Name: "org", Column: "Org", Type: entitytype.Ref, Target: "D_Org"}}},
		{Name: "D_Org", Key: []string{"code"}, CommandColumn: "Op", Properties: []entitytype.Property{
			{Name: "code", Column: "Code"}}},
	}})
	conn := memconn.New(m)
	conn.Set("D_User", []string{"Op", "ID", "Org"}, []string{"insert", "U1", "O1"})
	conn.Set("D_Org", []string{"Op", "Code"}, []string{"insert", "O1"})
	_, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	require.NotNil(t, store.Get("D_Org", "O1"))
	conn.Set("D_User", []string{"Op", "ID", "Org"}, []string{"insert", "U2", "O1"})
	conn.Set("D_Org", []string{"Op", "Code"}, []string{"delete", "O1"})
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	t.Logf("U2=%v O1=%v", store.Get("D_User", "U2"), store.Get("D_Org", "O1"))
	if store.Get("D_User", "U2") != nil {
		assert.NotNil(t, store.Get("D_Org", "O1"), "U2 inserted pointing at O1, deleted by the same run")
	}
}
