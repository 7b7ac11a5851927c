package memconn_test

import (
	"strings"
	"slices"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
)

func TestBrokenHarness(t *testing.T) {
	connectortest.Run(t, connectortest.HarnessFunc(func(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
		c := memconn.New(m)
		for name, tb := range tables {
			rows := tb.Rows
			if name == "Kit_User" {
				rows = slices.Clone(rows[:len(rows)-1])
				for i := range rows {
					rows[i] = slices.Clone(rows[i])
					rows[i][2] = strings.TrimSpace(rows[i][2])
					if len(rows[i][4]) > 1000 {
						rows[i][4] = rows[i][4][:5000] + "x" + rows[i][4][5001:]
					}
				}
			}
			h := tb.Header
			if name == "Kit_Members" {
				h = []string{h[1], h[0]}
				var r2 [][]string
				for _, r := range rows { r2 = append(r2, []string{r[1], r[0]}) }
				rows = r2
			}
			c.Set(name, h, rows...)
		}
		return c
	}))
}
