package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/storetest"
)

// harness runs the storetest conformance kit on new stores made by open.
type harness struct {
	open func(t *testing.T) *Store
}

func (h harness) NewStore(t *testing.T) idsync.Store { return h.open(t) }

func (harness) FailAfter(s idsync.Store, n int) bool {
	s.(*Store).failAfter.Store(int64(n))
	return true
}

func TestStoretestSQLite(t *testing.T) {
	storetest.Run(t, harness{func(t *testing.T) *Store {
		s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "idsync.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}})
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
	storetest.Run(t, harness{func(t *testing.T) *Store {
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
		s, err := Open(context.Background(), dsn+sep+"search_path="+schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			s.Close()
			admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		})
		return s
	}})
}
