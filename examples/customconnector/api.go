package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
)

// API stands in for a managed system's REST API, in process: it lists
// each table as pages of JSON objects, as RESTConnector reads them, and
// the changes made since a version, from a change log:
//
//	GET /{table}                → {"items": [...], "next": "..."}
//	GET /version                → {"version": 7}
//	GET /changes/{table}?since=V → {"items": [{"op": "update", ...}], "next": "..."}
type API struct {
	pageSize int

	mu      gosync.Mutex
	tables  map[string][]map[string]string
	changes []change // the change log, oldest first
}

// change is one entry of the change log; its version is its index + 1.
type change struct {
	table string
	item  map[string]string // with its "op"
}

// NewAPI returns an API serving pages of pageSize items and no table.
func NewAPI(pageSize int) *API {
	return &API{pageSize: pageSize, tables: map[string][]map[string]string{}}
}

// Set replaces the items of a table. Empty attributes are left out, as
// many APIs do.
func (a *API) Set(table string, items ...map[string]string) {
	clean := make([]map[string]string, len(items))
	for i, item := range items {
		clean[i] = map[string]string{}
		for k, v := range item {
			if v != "" {
				clean[i][k] = v
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tables[table] = clean
}

// Change logs a change of a table: op is insert, update, delete or merge.
// It does not change what GET /{table} lists: call Set for that, as the
// managed system would have done.
func (a *API) Change(table, op string, item map[string]string) {
	logged := map[string]string{"op": op}
	for k, v := range item {
		if v != "" {
			logged[k] = v
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.changes = append(a.changes, change{table, logged})
}

// ServeHTTP serves GET /{table}?page=N (N from 1), GET /version and GET
// /changes/{table}?since=V&page=N.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "version" {
		a.mu.Lock()
		v := len(a.changes)
		a.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]int{"version": v})
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	a.mu.Lock()
	table, logged := strings.CutPrefix(path, "changes/")
	items, ok := a.tables[table]
	if logged {
		since, err := strconv.Atoi(r.URL.Query().Get("since"))
		if err != nil || since < 0 || since > len(a.changes) {
			a.mu.Unlock()
			http.Error(w, "bad since", http.StatusBadRequest)
			return
		}
		items = nil
		for _, c := range a.changes[since:] {
			if c.table == table {
				items = append(items, c.item)
			}
		}
	}
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	start := min((n-1)*a.pageSize, len(items))
	end := min(start+a.pageSize, len(items))
	resp := struct {
		Items []map[string]string `json:"items"`
		Next  string              `json:"next,omitempty"`
	}{Items: items[start:end]}
	if end < len(items) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n+1))
		resp.Next = "/" + path + "?" + q.Encode()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}
