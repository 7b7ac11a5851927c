package sync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
)

func TestReviewRejectedLinkRowDeletesStoredLink(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	m := open(&entitytype.Model{Name: "L", EntityTypes: []entitytype.EntityType{
		{Name: "L_User", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}}},
		{Name: "L_Group", Key: []string{"gid"}, Properties: []entitytype.Property{{Name: "gid", Column: "GID", Type: entitytype.Int}}},
	}, Associations: []entitytype.Association{{Name: "L_Members",
		Source: entitytype.End{EntityType: "L_Group", Column: "GID"}, Target: entitytype.End{EntityType: "L_User", Column: "UID"}}}})
	conn := memconn.New(m)
	conn.Set("L_User", []string{"ID"}, []string{"u1"}, []string{"u2"})
	conn.Set("L_Group", []string{"GID"}, []string{"1"}, []string{"2"})
	conn.Set("L_Members", []string{"GID", "UID"}, []string{"1", "u1"}, []string{"2", "u2"})
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	require.True(t, store.HasLink("L_Members", "2", "u2"))
	conn.Set("L_Members", []string{"GID", "UID"}, []string{"1", "u1"}, []string{"2x", "u2"})
	run, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	t.Logf("%+v", run.Associations[0].LinkCounts)
	assert.True(t, store.HasLink("L_Members", "2", "u2"), "a rejected link row deleted the stored link of its known end u2")
}
