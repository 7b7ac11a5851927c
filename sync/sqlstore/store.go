package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	idsync "github.com/idsync/idsync/sync"
)

// Dialect names the SQL dialect of a database.
type Dialect string

// The supported dialects.
const (
	// SQLite is SQLite through the pure-Go driver modernc.org/sqlite,
	// registered as "sqlite".
	SQLite Dialect = "sqlite"
	// Postgres is PostgreSQL through the pgx driver
	// (github.com/jackc/pgx/v5/stdlib), registered as "pgx".
	Postgres Dialect = "postgres"
)

// Options configure a [Store]. A nil *Options means the defaults.
type Options struct {
	// FailAfter, when positive, makes Apply fail once it has written that
	// many changes, and roll back: for fault-injection tests only.
	FailAfter int
}

var (
	// ErrSchemaTooNew means the database was migrated by a newer version
	// of idsync than this one: this version does not know its schema and
	// leaves it alone.
	ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this version of idsync knows")
	// errInjected is the failure that Options.FailAfter injects.
	errInjected = errors.New("sqlstore: injected failure (Options.FailAfter)")
)

// Store is an [idsync.Store] on a SQL database: SQLite or PostgreSQL. It
// also implements [idsync.SortedScanner], [idsync.Locker] and
// [idsync.Identifier], and has
// query methods for a host that shows or verifies what is stored. A Store
// is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	ownDB   bool

	// failAfter is Options.FailAfter; the storetest harness changes it.
	failAfter atomic.Int64

	// SQLite: the main database file, for the lock files ("" in memory).
	path string
	// PostgreSQL: the schema, which scopes the advisory locks.
	schema string
	// identity is the store's, from idsync_store: fingerprints include it.
	identity string

	mu    gosync.Mutex
	locks map[string]bool // connectors locked in this process
}

// Open opens (creating it if need be) the store at url and migrates its
// schema. The URL forms are:
//
//	sqlite:./idsync.db              a SQLite file, relative
//	sqlite:///var/lib/idsync.db     a SQLite file, absolute
//	file:idsync.db?mode=rwc         a SQLite URI, passed to SQLite as is
//	./idsync.db                     a path ending in .db, .sqlite or .sqlite3
//	postgres://user@host/db         PostgreSQL (also postgresql://), any
//	                                parameter that pgx accepts, such as
//	                                sslmode or search_path
//
// A SQLite URL may carry driver parameters after "?", such as
// "_pragma=cache_size(-200000)". Close releases the database.
//
// Several processes may open one new SQLite file at once: one creates
// the schema, the others wait for it. A SQLite error about the file (it
// cannot be opened or created, is read-only, the disk is full) is a
// *FileError naming the file and the likely cause.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	dialect, dsn, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	driver := "pgx"
	if dialect == SQLite {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", redact(url), err)
	}
	if dialect == SQLite {
		db.SetMaxIdleConns(8)
	}
	if err := retryBusy(ctx, func() error { return db.PingContext(ctx) }); err != nil {
		db.Close()
		return nil, openError(url, err)
	}
	if dialect == SQLite {
		if err := setWAL(ctx, db); err != nil {
			db.Close()
			return nil, openError(url, err)
		}
	}
	s, err := New(ctx, db, dialect, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// New returns a store on a database that the host opened itself, and
// migrates its schema. For SQLite, db must use the driver of
// modernc.org/sqlite, preferably with WAL mode and a busy timeout, as Open
// sets them; for PostgreSQL, the pgx driver (stdlib.OpenDB or
// sql.Open("pgx", dsn)). The store's tables are named idsync_*; in
// PostgreSQL they live in the connection's current schema (set
// search_path to choose it). Close does not close db.
func New(ctx context.Context, db *sql.DB, dialect Dialect, opts *Options) (*Store, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("sqlstore: unknown dialect %q", dialect)
	}
	s := &Store{db: db, dialect: dialect, locks: map[string]bool{}}
	if opts != nil {
		s.failAfter.Store(int64(opts.FailAfter))
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	var err error
	if dialect == SQLite {
		err = db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&s.path)
	} else {
		err = db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&s.schema)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT identity FROM idsync_store WHERE id = 1").Scan(&s.identity); err != nil {
		return nil, fmt.Errorf("sqlstore: store identity: %w", err)
	}
	return s, nil
}

// Identity implements idsync.Identifier: the store's identity, made once
// when its schema was created (a row of idsync_store) and read by Open.
// Every database (every PostgreSQL schema) has its own; a copy of a
// SQLite file has the same one as the file it copies.
func (s *Store) Identity(ctx context.Context) (string, error) { return s.identity, nil }

// DB returns the store's database, for the host's own queries.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if !s.ownDB {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	return nil
}

// parseURL returns the dialect and the driver's data source name.
func parseURL(u string) (Dialect, string, error) {
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return Postgres, u, nil
	case strings.HasPrefix(lower, "file:"):
		if inMemory(lower) {
			return "", "", errInMemory
		}
		return SQLite, withParams(u, strings.Contains(u, "?")), nil
	case strings.HasPrefix(lower, "sqlite:"):
		rest := strings.TrimPrefix(u[len("sqlite:"):], "//")
		p, query, _ := strings.Cut(rest, "?")
		if p == "" {
			return "", "", fmt.Errorf("sqlstore: %q names no file", u)
		}
		return sqlitePath(p, query)
	case hasDBExt(lower):
		return sqlitePath(u, "")
	}
	return "", "", fmt.Errorf("sqlstore: unknown store URL %q: want sqlite:path, file:path, a path ending in .db, or a postgres:// URL", redact(u))
}

var errInMemory = errors.New("sqlstore: in-memory SQLite is not supported (each connection would have a database of its own): use a file in a temporary directory, or memstore")

func inMemory(u string) bool {
	return strings.Contains(u, ":memory:") || strings.Contains(u, "mode=memory")
}

func hasDBExt(p string) bool {
	switch path.Ext(p) {
	case ".db", ".sqlite", ".sqlite3":
		return true
	}
	return false
}

func sqlitePath(p, query string) (Dialect, string, error) {
	if inMemory(p + "?" + strings.ToLower(query)) {
		return "", "", errInMemory
	}
	dsn := p
	if strings.ContainsAny(p, "?#") {
		// The driver splits a plain name at '?': use a URI, escaped.
		dsn = "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	}
	if query != "" {
		dsn += "?" + query
	}
	return SQLite, withParams(dsn, query != ""), nil
}

// sqliteParams are the driver parameters every SQLite connection gets:
// full synchronous commits, a busy timeout instead of
// immediate SQLITE_BUSY errors, write transactions that take the write
// lock when they begin, a larger page cache for bulk applies, and a WAL
// file cut back to 64 MiB after a bulk apply is checkpointed. Open turns
// on WAL, the write-ahead log (readers never block the writer, and a crash
// loses no committed transaction), once, in the file: not as a parameter
// of every connection, since a connection turning it on while another
// process does fails with SQLITE_BUSY at once, whatever the busy timeout.
var sqliteParams = url.Values{
	"_pragma": {"busy_timeout(30000)", "synchronous(FULL)", "cache_size(-65536)", "journal_size_limit(67108864)"},
	"_txlock": {"immediate"},
}

func withParams(dsn string, hasQuery bool) string {
	sep := "?"
	if hasQuery {
		sep = "&"
	}
	return dsn + sep + sqliteParams.Encode()
}

// redact hides the password of a URL in messages.
func redact(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.User != nil {
		if _, ok := pu.User.Password(); ok {
			return pu.Redacted()
		}
	}
	return u
}

//go:embed migrations
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrationsFor returns the embedded migrations of a dialect, in order.
func migrationsFor(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	ents, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: bad migration name %s", e.Name())
		}
		b, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s out of sequence", m.name)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version that this version of the package
// creates and reads.
const SchemaVersion = 3

// migrate brings the schema to SchemaVersion. It reads the version first
// without locking anything, so that opening an up-to-date database never
// waits for a writer; it migrates in one transaction, serialized with
// other processes migrating the same database (on SQLite, BEGIN IMMEDIATE
// with a busy timeout; on PostgreSQL, an advisory lock), that reads the
// version again under the lock.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrationsFor(s.dialect)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	if len(ms) != SchemaVersion {
		return fmt.Errorf("sqlstore: %d migrations embedded for %s, want %d", len(ms), s.dialect, SchemaVersion)
	}
	var v int
	err = retryBusy(ctx, func() (err error) { v, err = s.schemaVersion(ctx, s.db); return err })
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: the database has schema version %d, this version knows up to %d: upgrade idsync", ErrSchemaTooNew, v, SchemaVersion)
	}
	if v == SchemaVersion {
		return nil
	}
	var tx migrator
	if s.dialect == SQLite {
		tx, err = beginSQLiteMigration(ctx, s.db)
	} else {
		tx, err = s.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		// Serialize concurrent migrations (of any schema: it is rare).
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7309395466045916517)"); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS idsync_schema_version (version integer PRIMARY KEY, name text NOT NULL)"); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if v, err = s.schemaVersion(ctx, tx); err != nil { // again, under the lock
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: the database has schema version %d, this version knows up to %d: upgrade idsync", ErrSchemaTooNew, v, SchemaVersion)
	}
	for _, m := range ms[v:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("sqlstore: migration %s/%s: %w", s.dialect, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO idsync_schema_version (version, name) VALUES (?, ?)"), m.version, m.name); err != nil {
			return fmt.Errorf("sqlstore: migration %s/%s: %w", s.dialect, m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// migrator is the transaction that migrates: a *sql.Tx, or on SQLite a
// *sqliteMigrator.
type migrator interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	Commit() error
	Rollback() error
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion returns the database's schema version, 0 for a database
// that has no idsync table.
func (s *Store) schemaVersion(ctx context.Context, q queryer) (int, error) {
	exists := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'idsync_schema_version'"
	if s.dialect == Postgres {
		exists = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'idsync_schema_version'"
	}
	var n int
	if err := q.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT max(version) FROM idsync_schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// q rewrites the ? placeholders of a query for the store's dialect.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Fingerprint implements idsync.Store: it is the store's identity and the
// number of changes of the connector's state (Applies and Puts),
// "<identity>/0" for a connector never applied.
func (s *Store) Fingerprint(ctx context.Context, connector string) (string, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT version FROM idsync_connectors WHERE name = ?"), connector).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlstore: fingerprint of %s: %w", connector, err)
	}
	return s.fingerprint(v), nil
}

// fingerprint returns the fingerprint of a connector's version.
func (s *Store) fingerprint(version int64) string {
	return s.identity + "/" + strconv.FormatInt(version, 10)
}

// parseFingerprint returns the version of a fingerprint of this store, or
// an error matching idsync.ErrStalePlan for a fingerprint of another.
func (s *Store) parseFingerprint(fp string) (int64, error) {
	id, num, ok := strings.Cut(fp, "/")
	if !ok || id != s.identity {
		return 0, staleError("fingerprint %q was not made by this store (identity %s): the change set was planned against another store", fp, s.identity)
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, staleError("fingerprint %q was not made by this store", fp)
	}
	return v, nil
}

// staleError returns an error matching idsync.ErrStalePlan.
func staleError(format string, args ...any) error {
	return fmt.Errorf("sqlstore: %w: "+format, append([]any{idsync.ErrStalePlan}, args...)...)
}
