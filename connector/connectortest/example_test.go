package connectortest_test

import (
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
)

// A connector's test runs the kit with a harness that stores the kit's
// tables in the managed system. Here the managed system is memconn's
// records; a harness that also implements Mutator, ChangeSetter or
// ValueLimiter unlocks more clauses.
func ExampleRun() {
	harness := connectortest.HarnessFunc(func(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
		c := memconn.New(m)
		for name, tb := range tables {
			c.Set(name, tb.Header, tb.Rows...)
		}
		return c
	})

	// In a _test.go file of the connector's package:
	//
	//	func TestConformance(t *testing.T) {
	//		connectortest.Run(t, harness)
	//	}
	_ = harness
}
