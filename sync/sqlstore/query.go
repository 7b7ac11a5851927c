package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// The query methods below serve a host that shows what a synchronization
// stored (a product's UI, a CLI's browse command) or verifies it in tests:
// browse users, open one, follow its memberships to its groups and from a
// group to its members.

// Resource is a stored resource: its key and its non-null properties.
type Resource struct {
	Key        string
	Properties map[string]string
}

// DefaultPageSize is the number of resources List returns when its limit
// is not positive.
const DefaultPageSize = 100

// List returns a page of an entity type's resources in key order: at most
// limit resources (DefaultPageSize if limit <= 0) whose keys come after
// after ("" for the first page). The next page starts after the last key
// returned.
func (s *Store) List(ctx context.Context, entityType, after string, limit int) ([]Resource, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT key, props FROM idsync_resources
		WHERE type_id = (SELECT id FROM idsync_entity_types WHERE name = ?) AND key > ? ORDER BY key LIMIT ?`),
		entityType, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list %s: %w", entityType, err)
	}
	defer rows.Close()
	var out []Resource
	for rows.Next() {
		var r Resource
		var props string
		if err := rows.Scan(&r.Key, &props); err != nil {
			return nil, fmt.Errorf("sqlstore: list %s: %w", entityType, err)
		}
		if r.Properties, err = propsMap(props); err != nil {
			return nil, fmt.Errorf("sqlstore: list %s: key %q: %w", entityType, r.Key, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list %s: %w", entityType, err)
	}
	return out, nil
}

func propsMap(s string) (map[string]string, error) {
	m := map[string]string{}
	err := decodeProps(s, func(name, value string) { m[name] = value })
	return m, err
}

// Get returns the non-null properties of one resource, and whether it is
// stored.
func (s *Store) Get(ctx context.Context, entityType, key string) (map[string]string, bool, error) {
	var props string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT props FROM idsync_resources
		WHERE type_id = (SELECT id FROM idsync_entity_types WHERE name = ?) AND key = ?`), entityType, key).Scan(&props)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: get %s %q: %w", entityType, key, err)
	}
	m, err := propsMap(props)
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: get %s %q: %w", entityType, key, err)
	}
	return m, true, nil
}

// Count returns the number of stored resources of an entity type.
func (s *Store) Count(ctx context.Context, entityType string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM idsync_resources
		WHERE type_id = (SELECT id FROM idsync_entity_types WHERE name = ?)`), entityType).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count %s: %w", entityType, err)
	}
	return n, nil
}

// LinkCount returns the number of stored links of an association.
func (s *Store) LinkCount(ctx context.Context, association string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM idsync_links
		WHERE assoc_id = (SELECT id FROM idsync_associations WHERE name = ?)`), association).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count %s: %w", association, err)
	}
	return n, nil
}

// LinksFrom returns the targets linked from source by an association, in
// bytewise order: the members of a group, for example.
func (s *Store) LinksFrom(ctx context.Context, association, source string) ([]string, error) {
	return s.keys(ctx, association, `SELECT target FROM idsync_links
		WHERE assoc_id = (SELECT id FROM idsync_associations WHERE name = ?) AND source = ? ORDER BY target`, source)
}

// LinksTo returns the sources linking to target by an association, in
// bytewise order: the groups of a user, for example. On SQLite, the first
// call after a bulk Apply builds the index it needs (see Apply), which
// takes about a second per million links.
func (s *Store) LinksTo(ctx context.Context, association, target string) ([]string, error) {
	if s.dialect == SQLite {
		s.buildReverseIndex(ctx)
	}
	return s.keys(ctx, association, `SELECT source FROM idsync_links
		WHERE assoc_id = (SELECT id FROM idsync_associations WHERE name = ?) AND target = ? ORDER BY source`, target)
}

func (s *Store) keys(ctx context.Context, association, query, key string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), association, key)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: links of %s %q: %w", association, key, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlstore: links of %s %q: %w", association, key, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: links of %s %q: %w", association, key, err)
	}
	return out, nil
}

// EntityTypes returns the names of the entity types that were ever
// applied, sorted.
func (s *Store) EntityTypes(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM idsync_entity_types ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: entity types: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: entity types: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: entity types: %w", err)
	}
	return out, nil
}

// Association describes a stored association: its name and the entity
// types of its two ends, as the model of its last Apply declared them.
type Association struct {
	Name   string
	Source string
	Target string
}

// Associations returns the stored associations that have entityType at
// one end (all of them if entityType is ""), sorted by name: from a user,
// the memberships that lead to its groups.
func (s *Store) Associations(ctx context.Context, entityType string) ([]Association, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT name, source_type, target_type FROM idsync_associations
		WHERE ? = '' OR source_type = ? OR target_type = ? ORDER BY name`), entityType, entityType, entityType)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: associations: %w", err)
	}
	defer rows.Close()
	var out []Association
	for rows.Next() {
		var a Association
		if err := rows.Scan(&a.Name, &a.Source, &a.Target); err != nil {
			return nil, fmt.Errorf("sqlstore: associations: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: associations: %w", err)
	}
	return out, nil
}

// Put stores a resource directly, outside any synchronization (a host's
// own write), replacing all its properties; it changes the connector's
// fingerprint, so that plans made before are stale.
func (s *Store) Put(ctx context.Context, connector, entityType, key string, props map[string]string) (err error) {
	defer func() {
		if s.dialect == SQLite {
			err = fileError(s.path, err)
		}
	}()
	var enc propsEncoder
	enc.reset()
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if v := props[name]; v != "" {
			enc.add(name, v)
		}
	}
	text, err := enc.finish()
	if err != nil {
		return fmt.Errorf("sqlstore: put %s %q: %w", entityType, key, err)
	}
	tx, err := s.db.BeginTx(context.WithoutCancel(ctx), nil) // see applySQLite
	if err != nil {
		return fmt.Errorf("sqlstore: put: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO idsync_connectors (name, version) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET version = idsync_connectors.version + 1`), connector); err != nil {
		return fmt.Errorf("sqlstore: put: %w", err)
	}
	tid, err := s.nameID(ctx, sqlTx{tx}, "idsync_entity_types", entityType)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO idsync_resources (type_id, key, props) VALUES (?, ?, ?)
		ON CONFLICT (type_id, key) DO UPDATE SET props = excluded.props`), tid, key, text); err != nil {
		return fmt.Errorf("sqlstore: put %s %q: %w", entityType, key, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: put: %w", err)
	}
	return nil
}
