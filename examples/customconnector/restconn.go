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
	for _, t := range c.model.EntityTypes {
		var cols []string
		for _, p := range t.Properties {
			if p.Column != "" {
				cols = append(cols, p.Column)
			}
		}
		if err := c.exportTable(ctx, dir, t.Name, cols); err != nil {
			return nil, err
		}
	}
	for _, a := range c.model.Associations {
		if !a.Inline {
			if err := c.exportTable(ctx, dir, a.Name, []string{a.Source.Column, a.Target.Column}); err != nil {
				return nil, err
			}
		}
	}
	return connector.Folder{Dir: dir, Model: c.model}, nil
}

// exportTable writes the table name, with columns, where a Folder of the
// model reads it.
func (c *RESTConnector) exportTable(ctx context.Context, dir, name string, columns []string) (err error) {
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
	next := c.base.JoinPath(name)
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
