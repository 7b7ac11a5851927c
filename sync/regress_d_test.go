package sync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
)

func TestReviewHashDiffPreparedCount(t *testing.T) {
	ctx := context.Background()
	m := sabModel()
	old := memconn.Extraction{}
	nw := memconn.Extraction{}
	for _, x := range []memconn.Extraction{old, nw} {
		x["SAB_Org"] = memconn.Table{Header: []string{"Code", "Label"}, Rows: [][]string{{"O1", "a"}}}
		x["SAB_Group"] = memconn.Table{Header: []string{"GroupID", "Name"}, Rows: [][]string{{"G1", "a"}}}
		x["SAB_Members"] = memconn.Table{Header: []string{"GroupID", "UserID"}, Rows: [][]string{{"G1", "U1"}}}
	}
	old["SAB_User"] = memconn.Table{Header: userHeader, Rows: [][]string{{"U1", "Ann", "02/01/2024", "Y", "O1"}}}
	nw["SAB_User"] = memconn.Table{Header: userHeader, Rows: [][]string{
		{"U1", "Ann", "02/01/2024", "Y", "O1"}, {"U2", "Bob", "02/01/2024", "Y", "O1"}, {"U2", "Bobby", "02/01/2024", "Y", "O1"}}}
	_, p, err := idsync.DiffExtractions(ctx, m, old, nw, &idsync.CompareOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	u := p.EntityTypes[0]
	t.Logf("read=%d prepared=%d rejected=%d", u.Read, u.Prepared, u.RejectedCount())
	assert.Equal(t, u.Read, u.Prepared+u.RejectedCount())
}
