package connectortest_test

import (
	"fmt"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
)

// A connector's test runs the kit with a harness that stores the kit's
// tables in the managed system; here the managed system is memconn's
// records. Each clause is a subtest named after it. A harness that also
// implements Mutator, ChangeSetter or ValueLimiter unlocks more clauses.
func ExampleRun() {
	harness := connectortest.HarnessFunc(func(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
		c := memconn.New(m)
		for name, tb := range tables {
			c.Set(name, tb.Header, tb.Rows...)
		}
		return c
	})
	_ = harness // in a _test.go file: func TestConformance(t *testing.T) { connectortest.Run(t, harness) }

	for _, clause := range connectortest.Clauses() {
		fmt.Println(clause)
	}
	// Output:
	// ExportsEveryTable
	// LinesIncrease
	// UnknownTableNotExported
	// OpenTwiceIndependent
	// ConcurrentOpens
	// ExportIsSnapshot
	// ExportIntoEmptyDir
	// CancelledContext
	// CloseIdempotent
	// ReadBytesAsRead
	// SyncEndToEnd
	// ChangesExportCommands
	// BothModesOneModel
}
