package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/storetest"
)

// harness runs the storetest conformance kit on new stores at the URLs
// that newURL makes; it reopens a store at its URL.
type harness struct {
	newURL func(t *testing.T) string
	urls   *gosync.Map // *Store → its URL
}

func newHarness(newURL func(t *testing.T) string) harness {
	return harness{newURL: newURL, urls: new(gosync.Map)}
}

func (h harness) open(t *testing.T, url string) *Store {
	s, err := Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.urls.Store(s, url)
	return s
}

func (h harness) NewStore(t *testing.T) idsync.Store { return h.open(t, h.newURL(t)) }

// Reopen implements storetest.Reopener: it closes s and opens its URL.
func (h harness) Reopen(t *testing.T, s idsync.Store) idsync.Store {
	url, ok := h.urls.LoadAndDelete(s)
	if !ok {
		t.Fatal("harness: Reopen of a store it did not open")
	}
	if err := s.(*Store).Close(); err != nil {
		t.Fatal(err)
	}
	return h.open(t, url.(string))
}

func (harness) FailAfter(s idsync.Store, n int) bool {
	s.(*Store).failAfter.Store(int64(n))
	return true
}

func TestStoretestSQLite(t *testing.T) {
	storetest.Run(t, newHarness(func(t *testing.T) string {
		return "sqlite:" + filepath.Join(t.TempDir(), "idsync.db")
	}))
}

func TestStoretestPostgres(t *testing.T) {
	dsn := os.Getenv("IDSYNC_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL required in CI: IDSYNC_POSTGRES_DSN is not set")
		}
		t.Skip("IDSYNC_POSTGRES_DSN is not set: skipping PostgreSQL (e.g. postgres://postgres@127.0.0.1:54329/idsync_test?sslmode=disable, see .ci/run)")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	storetest.Run(t, newHarness(func(t *testing.T) string {
		// A schema of its own for each store.
		var b [6]byte
		rand.Read(b[:])
		schema := "idsync_kit_" + hex.EncodeToString(b[:])
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") }) // after the stores' Close
		return dsn + sep + "search_path=" + schema
	}))
}
