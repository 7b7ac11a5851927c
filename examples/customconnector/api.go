package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
)

// API stands in for a managed system's REST API, in process: it lists
// each table as pages of JSON objects, as RESTConnector reads them.
type API struct {
	pageSize int

	mu     gosync.Mutex
	tables map[string][]map[string]string
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

// ServeHTTP serves GET /{table}?page=N (N from 1).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	table := strings.TrimPrefix(r.URL.Path, "/")
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	a.mu.Lock()
	items, ok := a.tables[table]
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
		resp.Next = fmt.Sprintf("/%s?page=%d", table, n+1)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}
