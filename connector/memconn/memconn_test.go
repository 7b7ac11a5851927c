package memconn_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
)

// harness keeps the managed system's tables in a memconn.Connector.
type harness struct{}

func (harness) NewConnector(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
	c := memconn.New(m)
	set(c, tables)
	return c
}

func (harness) Mutate(t *testing.T, conn connector.Connector, tables map[string]connectortest.Table) {
	set(conn.(*memconn.Connector), tables)
}

func (harness) SetChanges(t *testing.T, conn connector.Connector, changes map[string]connectortest.Table) {
	c := conn.(*memconn.Connector)
	for name, tb := range changes {
		c.SetChanges(name, connectortest.CommandColumn, tb.Header, tb.Rows...)
	}
}

func set(c *memconn.Connector, tables map[string]connectortest.Table) {
	for name, tb := range tables {
		c.Set(name, tb.Header, tb.Rows...)
	}
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, harness{})
}

func model() *entitytype.Model {
	return &entitytype.Model{Name: "M", EntityTypes: []entitytype.EntityType{
		{Name: "M_User", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}}},
	}}
}

func TestSetCopiesRows(t *testing.T) {
	c := memconn.New(model())
	row := []string{"U1"}
	c.Set("M_User", []string{"ID"}, row)
	row[0] = "changed"
	ext, err := c.Export(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := ext.Open(context.Background(), "M_User")
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	got, err := tbl.Read()
	if err != nil || got[0] != "U1" {
		t.Errorf("Read() = %q, %v; want [U1], the row as it was given to Set", got, err)
	}
}

func TestWrongFieldCountIsAnError(t *testing.T) {
	c := memconn.New(model())
	c.Set("M_User", []string{"ID"}, []string{"U1", "extra"})
	ext, err := c.Export(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := ext.Open(context.Background(), "M_User")
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	_, err = tbl.Read()
	if err == nil || err == io.EOF || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Read of a row with 2 values for 1 column: %v, want an error naming line 2", err)
	}
}

func TestNoChangesBeforeSetChanges(t *testing.T) {
	c := memconn.New(model())
	if _, _, err := c.ExportChanges(context.Background(), "", ""); !errors.Is(err, connector.ErrNoChanges) {
		t.Errorf("ExportChanges before SetChanges: %v, want connector.ErrNoChanges", err)
	}
}
