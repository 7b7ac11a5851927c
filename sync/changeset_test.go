package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
)

func TestChangeSetReview(t *testing.T) {
	ctx := context.Background()
	eng, _ := newEngine(t)
	conn := memconn.New(open(sabModel()))
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)

	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "03/01/2024", "Y", "O1"}, // hireDate changes
		[]string{"U2", "Bob", "16/03/2020", "N", "O2"}, // hireDate and org change
		[]string{"U4", "Dee", "01/12/2019", "1", "O2"}, // inserted; U3 deleted
	)
	conn.Set("SAB_Members", []string{"GroupID", "UserID"}, []string{"G1", "U1"}, []string{"G2", "U4"})
	run, err := eng.Plan(ctx, conn, nil)
	require.NoError(t, err)
	cs, err := run.ChangeSet()
	require.NoError(t, err)
	assert.Equal(t, run.ChangeSetHash, cs.Hash())

	var keys []string
	for c, err := range cs.Resources("SAB_User") {
		require.NoError(t, err)
		keys = append(keys, c.Op.String()+" "+c.Key)
		if c.Key == "U2" {
			assert.Equal(t, []idsync.PropertyChange{
				{Name: "hireDate", Old: "2020-03-15", New: "2020-03-16"},
				{Name: "org", Old: "O1", New: "O2"},
			}, c.Props)
		}
	}
	assert.Equal(t, []string{"update U1", "update U2", "delete U3", "insert U4"}, keys, "key order")

	u := cs.EntityTypes()[0]
	require.NotEmpty(t, u.Hints)
	assert.Equal(t, "50 % of 2 updates change only hireDate", u.Hints[0].String())
	assert.Equal(t, map[string]int64{"hireDate": 2, "org": 1}, u.Touched)

	var buf bytes.Buffer
	require.NoError(t, cs.WriteJSONLines(&buf))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	assert.Len(t, lines, int(cs.Len()))
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, "SAB_User", first["entityType"])
	assert.Equal(t, "update", first["op"])
	assert.Contains(t, buf.String(), `{"association":"SAB_Members","op":"insert","source":"G2","target":"U4"}`)
	assert.Contains(t, buf.String(), `{"association":"SAB_Members","op":"delete","source":"G1","target":"U2"}`)
}
