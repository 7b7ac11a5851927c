package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/entitytype"
)

// harness serves the kit's tables with an API and returns a RESTConnector
// reading it.
type harness struct {
	apis map[connector.Connector]*API // the API of each connector
}

func (h harness) NewConnector(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
	api := NewAPI(3)
	setTables(api, tables)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	conn, err := NewRESTConnector(m, srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	h.apis[conn] = api
	return conn
}

// Mutate implements connectortest.Mutator: the API serves the new tables.
func (h harness) Mutate(t *testing.T, conn connector.Connector, tables map[string]connectortest.Table) {
	setTables(h.apis[conn], tables)
}

// SetChanges implements connectortest.ChangeSetter: the API logs the
// changes, each row's command in the kit's command column.
func (h harness) SetChanges(t *testing.T, conn connector.Connector, changes map[string]connectortest.Table) {
	api := h.apis[conn]
	for name, tb := range changes {
		for _, row := range tb.Rows {
			item, op := map[string]string{}, ""
			for j, col := range tb.Header {
				if col == connectortest.CommandColumn {
					op = row[j]
				} else {
					item[col] = row[j]
				}
			}
			api.Change(name, op, item)
		}
	}
}

// setTables makes api serve tables, each row as an object keyed by column.
func setTables(api *API, tables map[string]connectortest.Table) {
	for name, tb := range tables {
		items := make([]map[string]string, len(tb.Rows))
		for i, row := range tb.Rows {
			items[i] = map[string]string{}
			for j, col := range tb.Header {
				items[i][col] = row[j]
			}
		}
		api.Set(name, items...)
	}
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, harness{apis: map[connector.Connector]*API{}})
}

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `first load: succeeded
  users    3 read, 3 inserted, 0 updated, 0 deleted
  groups   2 read, 2 inserted, 0 updated, 0 deleted
  members  4 read, 4 inserted, 0 deleted
next day, changes: succeeded
  users    2 read, 0 inserted, 1 updated, 1 deleted
  groups   0 read, 0 inserted, 0 updated, 0 deleted
  members  1 read, 0 inserted, 1 deleted
weekly complete run: succeeded
  users    2 read, 0 inserted, 0 updated, 0 deleted
  groups   2 read, 0 inserted, 0 updated, 0 deleted
  members  3 read, 0 inserted, 0 deleted
users u2: name "Bob Stone-Martin", hired 2022-11-15, active true, member of staff: true
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestExportReportsHTTPErrors(t *testing.T) {
	srv := httptest.NewServer(NewAPI(10)) // serves no table
	defer srv.Close()
	conn, err := NewRESTConnector(model(), srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Export(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "users") || !strings.Contains(err.Error(), "404") {
		t.Errorf("Export from an API without the users table: %v, want an error naming users and the status", err)
	}
}
