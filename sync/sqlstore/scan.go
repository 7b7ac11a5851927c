package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// Resources implements idsync.Store. It streams the resources in key
// order, like SortedResources: the primary key index gives that order for
// free.
func (s *Store) Resources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return s.SortedResources(ctx, t)
}

// SortedResources implements idsync.SortedScanner: one query walks the
// primary key index of the entity type's resources, in bytewise key order,
// and the rows are decoded as they come.
func (s *Store) SortedResources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return func(yield func(idsync.Record, error) bool) {
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT key, props FROM idsync_resources
			WHERE type_id = (SELECT id FROM idsync_entity_types WHERE name = ?) ORDER BY key`), t.Name)
		if err != nil {
			yield(idsync.Record{}, fmt.Errorf("sqlstore: scan %s: %w", t.Name, err))
			return
		}
		defer rows.Close()
		index := make(map[string]int, len(t.Properties))
		for i, p := range t.Properties {
			index[p.Name] = i
		}
		var raw sql.RawBytes
		for rows.Next() {
			var r idsync.Record
			if err := rows.Scan(&r.Key, &raw); err != nil {
				yield(idsync.Record{}, fmt.Errorf("sqlstore: scan %s: %w", t.Name, err))
				return
			}
			r.Values = make([]string, len(t.Properties))
			// One string per row: the values are substrings of it.
			err := decodeProps(string(raw), func(name, value string) {
				if i, ok := index[name]; ok {
					r.Values[i] = value
				}
			})
			if err != nil {
				yield(idsync.Record{}, fmt.Errorf("sqlstore: scan %s: key %q: %w", t.Name, r.Key, err))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(idsync.Record{}, fmt.Errorf("sqlstore: scan %s: %w", t.Name, err))
		}
	}
}

// Links implements idsync.Store. It streams the links in (source, target)
// order, like SortedLinks.
func (s *Store) Links(ctx context.Context, a *entitytype.Association) iter.Seq2[idsync.Link, error] {
	return s.SortedLinks(ctx, a)
}

// SortedLinks implements idsync.SortedScanner: one query walks the primary
// key index of the association's links, in bytewise (source, target)
// order.
func (s *Store) SortedLinks(ctx context.Context, a *entitytype.Association) iter.Seq2[idsync.Link, error] {
	return func(yield func(idsync.Link, error) bool) {
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT source, target FROM idsync_links
			WHERE assoc_id = (SELECT id FROM idsync_associations WHERE name = ?) ORDER BY source, target`), a.Name)
		if err != nil {
			yield(idsync.Link{}, fmt.Errorf("sqlstore: scan %s: %w", a.Name, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var l idsync.Link
			if err := rows.Scan(&l.Source, &l.Target); err != nil {
				yield(idsync.Link{}, fmt.Errorf("sqlstore: scan %s: %w", a.Name, err))
				return
			}
			if !yield(l, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(idsync.Link{}, fmt.Errorf("sqlstore: scan %s: %w", a.Name, err))
		}
	}
}
