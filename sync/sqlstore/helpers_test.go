package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/sqlstore"
)

// backend opens fresh, empty stores of one kind; url gives a URL whose
// stores share one database, for tests that reopen it.
type backend struct {
	name string
	url  func(t testing.TB) string
}

func (b backend) open(t testing.TB, url string, opts *sqlstore.Options) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// fpOf returns the fingerprint of version v of a connector in s.
func fpOf(s *sqlstore.Store, v int) string {
	id, _ := s.Identity(context.Background())
	return id + "/" + strconv.Itoa(v)
}

// fresh opens a store on a new, empty database.
func (b backend) fresh(t testing.TB) *sqlstore.Store { return b.open(t, b.url(t), nil) }

var sqliteBackend = backend{"sqlite", func(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "idsync.db")
}}

var postgresBackend = backend{"postgres", postgresURL}

// eachBackend runs f as a subtest for SQLite and for PostgreSQL.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range []backend{sqliteBackend, postgresBackend} {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// postgresDSN returns IDSYNC_POSTGRES_DSN, or skips the test (fails it in
// CI) when it is not set.
func postgresDSN(t testing.TB) string {
	dsn := os.Getenv("IDSYNC_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL required in CI: IDSYNC_POSTGRES_DSN is not set")
		}
		t.Skip("IDSYNC_POSTGRES_DSN is not set: skipping PostgreSQL (e.g. postgres://postgres@127.0.0.1:54329/idsync_test?sslmode=disable, see .ci/run)")
	}
	return dsn
}

// postgresURL creates a schema of its own for the test, dropped at its
// end, and returns a URL whose search_path selects it.
func postgresURL(t testing.TB) string {
	dsn := postgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	var b [6]byte
	rand.Read(b[:])
	schema := "idsync_test_" + hex.EncodeToString(b[:])
	_, err = db.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// testModel is a connector with users, groups and memberships.
func testModel(name string) *entitytype.Model {
	return &entitytype.Model{
		Name: name,
		EntityTypes: []entitytype.EntityType{
			{Name: "User", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "id"}, {Name: "name", Column: "name"}, {Name: "mail", Column: "mail"},
			}},
			{Name: "Group", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "id"}, {Name: "label", Column: "label"},
			}},
		},
		Associations: []entitytype.Association{
			{Name: "Members", Source: entitytype.End{EntityType: "Group", Column: "group"},
				Target: entitytype.End{EntityType: "User", Column: "user"}},
		},
	}
}

// data builds an extraction of testModel.
type data struct {
	users   [][]string // id, name, mail
	groups  [][]string // id, label
	members [][]string // group, user
}

func (d data) extraction() memconn.Extraction {
	return memconn.Extraction{
		"User":    {Header: []string{"id", "name", "mail"}, Rows: d.users},
		"Group":   {Header: []string{"id", "label"}, Rows: d.groups},
		"Members": {Header: []string{"group", "user"}, Rows: d.members},
	}
}

// plan prepares ext and diffs it against the store: the change set that
// a run would apply.
func plan(t testing.TB, s idsync.Store, m *entitytype.Model, ext memconn.Extraction) *idsync.ChangeSet {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p, err := idsync.Prepare(ctx, m, ext, &idsync.PrepareOptions{Dir: filepath.Join(dir, "prepared"), Store: s})
	require.NoError(t, err)
	fp, err := s.Fingerprint(ctx, m.Name)
	require.NoError(t, err)
	cs, err := idsync.Diff(ctx, p, s, &idsync.DiffOptions{Dir: filepath.Join(dir, "changes"), Fingerprint: fp})
	require.NoError(t, err)
	return cs
}

// apply plans and applies.
func apply(t testing.TB, s idsync.Store, m *entitytype.Model, ext memconn.Extraction) *idsync.ChangeSet {
	t.Helper()
	cs := plan(t, s, m, ext)
	require.NoError(t, s.Apply(context.Background(), cs))
	return cs
}

// manyUsers returns n users U00000..., with a name and a mail.
func manyUsers(prefix string, n int) [][]string {
	rows := make([][]string, n)
	for i := range rows {
		id := fmt.Sprintf("%s%06d", prefix, i)
		rows[i] = []string{id, "Name " + id, strings.ToLower(id) + "@example.com"}
	}
	return rows
}

// state is what a store holds for testModel, read through the Store
// interface.
type state struct {
	users   map[string][]string
	groups  map[string][]string
	members []idsync.Link
	fp      string
}

func readState(t testing.TB, s idsync.Store, connector string) state {
	t.Helper()
	ctx := context.Background()
	m := testModel(connector)
	st := state{users: map[string][]string{}, groups: map[string][]string{}}
	for r, err := range s.Resources(ctx, &m.EntityTypes[0]) {
		require.NoError(t, err)
		st.users[r.Key] = r.Values
	}
	for r, err := range s.Resources(ctx, &m.EntityTypes[1]) {
		require.NoError(t, err)
		st.groups[r.Key] = r.Values
	}
	for l, err := range s.Links(ctx, &m.Associations[0]) {
		require.NoError(t, err)
		st.members = append(st.members, l)
	}
	var err error
	st.fp, err = s.Fingerprint(ctx, connector)
	require.NoError(t, err)
	return st
}
