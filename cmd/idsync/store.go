package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/sqlstore"
)

// openedStore is the store that --store names. It holds the concrete
// store, never a wrapper of it: a struct embedding idsync.Store would hide
// the store's optional interfaces (Locker, SortedScanner, Identifier) from
// the engine.
type openedStore struct {
	store idsync.Store    // *sqlstore.Store or *memstore.Store
	sql   *sqlstore.Store // nil for mem:
	name  string          // the URL, canonical, password redacted: Options.StoreName
	close func() error
	// workState keeps the engine's state in the work folder, for a run
	// recorded there (mem:, an idsync that kept its state there).
	workState bool
}

// engineFor returns the engine of a command on store (nil for commands
// that only read the work folder) and arts (nil without --artifacts). A
// SQL store keeps the engine's state; with mem:, which is gone when the
// command ends, the work folder keeps it.
func (c *cli) engineFor(store *openedStore, o *opts, prog *progress, arts idsync.Artifacts) *idsync.Engine {
	eo := &idsync.Options{WorkDir: o.work, Logger: c.log, Progress: prog.callback(), WaitLock: o.wait, Artifacts: arts}
	if store == nil {
		return idsync.New(nil, eo)
	}
	eo.StoreName = store.name
	eo.StateInWorkDir = store.sql == nil || store.workState
	return idsync.New(store.store, eo)
}

// canonicalStoreURL returns the URL naming the same store from any
// folder: a relative SQLite path is made absolute.
func canonicalStoreURL(u string) string {
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "sqlite:"):
		p, query, hasQuery := strings.Cut(strings.TrimPrefix(u[len("sqlite:"):], "//"), "?")
		abs, err := filepath.Abs(p)
		if err != nil {
			return u
		}
		if hasQuery {
			abs += "?" + query
		}
		return "sqlite:" + abs
	case strings.HasPrefix(lower, "file:") && !strings.HasPrefix(lower, "file:/"):
		// A relative SQLite URI: absolute, so that it names the same file
		// from any folder.
		p, query, hasQuery := strings.Cut(u[len("file:"):], "?")
		abs, err := filepath.Abs(p)
		if err != nil {
			return u
		}
		if hasQuery {
			abs += "?" + query
		}
		return "file:" + abs
	case isMem(lower), strings.Contains(lower, "://"), strings.HasPrefix(lower, "file:"):
		return u
	}
	// A path ending in .db, .sqlite or .sqlite3.
	if abs, err := filepath.Abs(u); err == nil {
		return "sqlite:" + abs
	}
	return u
}

// storeExists reports whether the store that u names may exist: false for
// a SQLite file that does not.
func storeExists(u string) bool {
	p, ok := sqlitePath(u)
	if !ok {
		return true
	}
	_, err := os.Stat(p)
	return err == nil
}

// hasPassword reports whether a URL holds a password (shown redacted).
func hasPassword(u string) bool {
	pu, err := url.Parse(u)
	if err != nil || pu.User == nil {
		return false
	}
	_, ok := pu.User.Password()
	return ok
}

// isMem reports whether url names the in-memory store.
func isMem(u string) bool { return u == "mem:" || u == "mem" || u == "memory:" }

// checkStoreURL rejects a URL that no store understands (a usage error).
func checkStoreURL(u string) error {
	lower := strings.ToLower(u)
	switch {
	case lower == "sqlite:" || lower == "file:" || strings.Contains(lower, ":memory:") || strings.Contains(lower, "mode=memory"):
		return usagef("", "store URL %q names no database file (use mem: for memory)", redact(u))
	case isMem(lower),
		strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"),
		strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		return nil
	}
	switch filepath.Ext(lower) {
	case ".db", ".sqlite", ".sqlite3":
		return nil
	}
	return usagef("", "unknown store URL %q: want sqlite:PATH, postgres://..., or mem:", redact(u))
}

// openStore opens the store that url names.
func openStore(ctx context.Context, u string) (*openedStore, error) {
	if err := checkStoreURL(u); err != nil {
		return nil, err
	}
	name := redact(canonicalStoreURL(u))
	if isMem(strings.ToLower(u)) {
		return &openedStore{store: memstore.New(), name: "mem:", close: func() error { return nil }}, nil
	}
	s, err := sqlstore.Open(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	return &openedStore{store: s, sql: s, name: name, close: s.Close}, nil
}

// redact hides the password of a URL.
func redact(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.User != nil {
		if _, ok := pu.User.Password(); ok {
			return pu.Redacted()
		}
	}
	return u
}

// loadConfig reads and validates a configuration file; its errors are
// configuration errors (exit code 2).
func loadConfig(cmd, path string) (*entitytype.Config, error) {
	if path == "" {
		return nil, usagef(cmd, "--config is required")
	}
	cfg, err := entitytype.LoadFile(path)
	if err != nil {
		return nil, &configError{err}
	}
	return cfg, nil
}

// selectConnectors returns the models that a plan or run processes: the
// one named, or all of them in order.
func selectConnectors(cfg *entitytype.Config, name string) ([]*entitytype.Model, error) {
	if name == "" {
		ms := make([]*entitytype.Model, len(cfg.Connectors))
		for i := range cfg.Connectors {
			ms[i] = &cfg.Connectors[i]
		}
		return ms, nil
	}
	var out []*entitytype.Model
	for _, n := range strings.Split(name, ",") {
		m := cfg.Connector(strings.TrimSpace(n))
		if m == nil {
			var names []string
			for _, c := range cfg.Connectors {
				names = append(names, c.Name)
			}
			return nil, &configError{fmt.Errorf("no connector %q in the configuration (it has %s)", n, strings.Join(names, ", "))}
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMode reads --mode.
func parseMode(cmd, s string) (idsync.Mode, error) {
	switch strings.ToLower(s) {
	case "", "complete":
		return idsync.Complete, nil
	case "incremental":
		return idsync.Incremental, nil
	}
	return "", usagef(cmd, "unknown mode %q: want complete or incremental", s)
}

var errNoMemBrowse = errors.New("the mem: store forgets everything when idsync exits, so there is nothing to browse; use a sqlite: or postgres:// store")

// sqlitePath returns the file of a SQLite store URL (sqlite:PATH,
// file:PATH, or a path ending in .db, .sqlite or .sqlite3), and false for
// other stores.
func sqlitePath(u string) (string, bool) {
	lower := strings.ToLower(u)
	var p string
	switch {
	case isMem(lower), strings.Contains(lower, "://"):
		return "", false
	case strings.HasPrefix(lower, "sqlite:"):
		p = strings.TrimPrefix(u[len("sqlite:"):], "//")
	case strings.HasPrefix(lower, "file:"):
		p = strings.TrimPrefix(u[len("file:"):], "//")
	default:
		switch filepath.Ext(lower) {
		case ".db", ".sqlite", ".sqlite3":
			p = u
		default:
			return "", false
		}
	}
	p, _, _ = strings.Cut(p, "?")
	return p, true
}

// checkStoreExists refuses, for a command that only reads, a SQLite store
// whose file does not exist: opening it would create an empty one.
func checkStoreExists(cmd, u string) error {
	p, ok := sqlitePath(u)
	if !ok {
		return nil
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		abs, _ := filepath.Abs(p)
		return fmt.Errorf("no store %s: the file %s does not exist (%s reads a store and creates none; give --store URL or set $IDSYNC_STORE)", redact(u), abs, cmd)
	}
	return nil
}
