package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
)

// RESTConnector is a custom connector: it reads a managed system through
// a REST API that lists each table of the model, by entity type or
// association name, as pages of JSON objects keyed by column name:
//
//	GET {base}/users → {"items": [{"ID": "u1", "Name": "Ann"}, ...], "next": "/users?page=2"}
//
// A missing or null attribute is an empty cell; numbers and booleans are
// read as their JSON text. The columns of a table are the ones that the
// model maps, so expression properties are not supported.
//
// Export streams every table into a CSV file of the run's export folder,
// one page in memory at a time, and returns the files as a
// connector.Folder: the extraction is a snapshot that later changes of the
// API do not disturb, and it may be larger than memory. (A connector could
// also read pages lazily in Table.Read, but then two tables, or two reads
// of one table, could see different states of the system.)
//
// ExportChanges (connector.ChangeExporter) reads the API's change log the
// same way, into files whose column "op" holds each row's command, and
// returns them as connector.DeltaTables. One model serves both: whether a
// table is a delta is said by the extraction. The version of the change
// log is the cursor; Export reads it before the snapshot, so that the
// changes after the snapshot are exported by the next incremental run
// (connector.Cursorer). A change made during the export may come again
// in the next changes, which merges and deletes apply harmlessly.
type RESTConnector struct {
	model  *entitytype.Model
	base   *url.URL
	client *http.Client
}

// NewRESTConnector returns a connector for model reading the API at base
// with client (http.DefaultClient when nil). The model's tables must be
// CSV files: File empty or naming a CSV file.
func NewRESTConnector(model *entitytype.Model, base string, client *http.Client) (*RESTConnector, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("restconn: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &RESTConnector{model: model, base: u, client: client}, nil
}

// Model implements connector.Connector.
func (c *RESTConnector) Model() *entitytype.Model { return c.model }

// Export implements connector.Connector.
func (c *RESTConnector) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	if dir == "" {
		return nil, errors.New("restconn: Export needs a folder")
	}
	version, err := c.version(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.exportTables(ctx, dir, "", nil); err != nil {
		return nil, err
	}
	return snapshot{connector.Folder{Dir: dir, Model: c.model}, strconv.Itoa(version)}, nil
}

// ExportChanges implements connector.ChangeExporter: the changes logged
// since the cursor (all of them without one).
func (c *RESTConnector) ExportChanges(ctx context.Context, dir, since string) (connector.Extraction, string, error) {
	if dir == "" {
		return nil, "", errors.New("restconn: ExportChanges needs a folder")
	}
	if since == "" {
		since = "0"
	}
	version, err := c.version(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := c.exportTables(ctx, dir, "changes/", url.Values{"since": {since}}); err != nil {
		return nil, "", err
	}
	return changes{connector.Folder{Dir: dir, Model: c.model}}, strconv.Itoa(version), nil
}

// commandColumn is the column of a change that holds its command.
const commandColumn = "op"

// snapshot is a full export and the cursor of the changes after it.
type snapshot struct {
	connector.Folder
	cursor string
}

// Cursor implements connector.Cursorer.
func (s snapshot) Cursor() string { return s.cursor }

// changes is an export of changes: its tables are deltas.
type changes struct{ connector.Folder }

func (c changes) Open(ctx context.Context, name string) (connector.Table, error) {
	tbl, err := c.Folder.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return connector.Delta(tbl, commandColumn), nil
}

// version returns the version of the API's change log.
func (c *RESTConnector) version(ctx context.Context) (int, error) {
	var v struct{ Version int }
	if err := c.get(ctx, c.base.JoinPath("version"), &v); err != nil {
		return 0, fmt.Errorf("restconn: %w", err)
	}
	return v.Version, nil
}

// exportTables writes every table of the model, from the API's path
// prefix+name with query, where a Folder of the model reads it; changes
// have the command column first.
func (c *RESTConnector) exportTables(ctx context.Context, dir, prefix string, query url.Values) error {
	var first []string
	if prefix != "" {
		first = []string{commandColumn}
	}
	for _, t := range c.model.EntityTypes {
		cols := first
		for _, p := range t.Properties {
			if p.Column != "" {
				cols = append(cols, p.Column)
			}
		}
		if err := c.exportTable(ctx, dir, t.Name, prefix, query, cols); err != nil {
			return err
		}
	}
	for _, a := range c.model.Associations {
		if !a.Inline {
			cols := append(slices.Clone(first), a.Source.Column, a.Target.Column)
			if err := c.exportTable(ctx, dir, a.Name, prefix, query, cols); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportTable writes the table name, with columns, where a Folder of the
// model reads it.
func (c *RESTConnector) exportTable(ctx context.Context, dir, name, prefix string, query url.Values, columns []string) (err error) {
	file, opts, err := connector.TableFile(c.model, name)
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		return fmt.Errorf("restconn: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("restconn: %w", cerr)
		}
	}()
	w := extract.NewCSVWriter(f, opts)
	if err := w.Write(columns); err != nil {
		return err
	}
	record := make([]string, len(columns))
	next := c.base.JoinPath(prefix + name)
	next.RawQuery = query.Encode()
	for next != nil {
		var p page
		if err := c.get(ctx, next, &p); err != nil {
			return fmt.Errorf("restconn: %s: %w", name, err)
		}
		for i, item := range p.Items {
			for j, col := range columns {
				if record[j], err = text(item[col]); err != nil {
					return fmt.Errorf("restconn: %s: %s item %d, %q: %w", name, next, i+1, col, err)
				}
			}
			if err := w.Write(record); err != nil {
				return err
			}
		}
		next = nil
		if p.Next != "" {
			u, err := url.Parse(p.Next)
			if err != nil {
				return fmt.Errorf("restconn: %s: next page: %w", name, err)
			}
			next = c.base.ResolveReference(u)
		}
	}
	return w.Close()
}

// page is one page of a table, as the API returns it.
type page struct {
	Items []map[string]json.RawMessage `json:"items"`
	Next  string                       `json:"next"` // URL of the next page, "" after the last
}

// get decodes the JSON document at u into v.
func (c *RESTConnector) get(ctx context.Context, u *url.URL, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// text returns a JSON scalar as the text of a cell.
func text(v json.RawMessage) (string, error) {
	switch {
	case len(v) == 0 || string(v) == "null":
		return "", nil
	case v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case v[0] == '{' || v[0] == '[':
		return "", errors.New("not a scalar")
	}
	return string(v), nil // a number, true or false
}
