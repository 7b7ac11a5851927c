// Package memstore is an in-memory [idsync.Store]: a real store, not a
// mock, for tests, examples and hosts that keep their repository in memory.
// It passes the storetest conformance kit.
package memstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	gosync "sync"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// Store is an in-memory store, safe for concurrent use. Resources are kept
// as canonical values by property name, so properties that a mapping does
// not cover survive every synchronization.
type Store struct {
	mu        gosync.RWMutex
	resources map[string]map[string]map[string]string // entity type → key → property → value
	links     map[string]map[idsync.Link]struct{}     // association → links
	versions  map[string]uint64                       // connector → fingerprint
	locks     map[string]bool
	identity  string // random, made by New
	state     state  // the engine's, under mu too

	failAfter int
}

// FailAfter makes every later Apply fail when it attempts write n+1 (so
// n = 1 fails at the second change), leaving the store unchanged; n = 0
// turns fault injection off. It is for tests of atomicity.
func (s *Store) FailAfter(n int) {
	s.mu.Lock()
	s.failAfter = n
	s.mu.Unlock()
}

// New returns an empty store, with an identity of its own: no other
// store's fingerprints equal its.
func New() *Store {
	var id [16]byte
	rand.Read(id[:])
	return &Store{
		identity:  "mem-" + hex.EncodeToString(id[:]),
		resources: map[string]map[string]map[string]string{},
		links:     map[string]map[idsync.Link]struct{}{},
		versions:  map[string]uint64{},
		locks:     map[string]bool{},
		state:     state{runs: map[string][]byte{}, connectors: map[string]idsync.ConnectorState{}},
	}
}

// Resources implements idsync.Store.
func (s *Store) Resources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return s.SortedResources(ctx, t)
}

// SortedResources implements idsync.SortedScanner. It copies the keys
// under the lock and reads each resource as it goes.
func (s *Store) SortedResources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return func(yield func(idsync.Record, error) bool) {
		s.mu.RLock()
		keys := slices.Sorted(maps.Keys(s.resources[t.Name]))
		s.mu.RUnlock()
		for i, k := range keys {
			if i%1024 == 0 && ctx.Err() != nil {
				yield(idsync.Record{}, ctx.Err())
				return
			}
			s.mu.RLock()
			props, ok := s.resources[t.Name][k]
			r := idsync.Record{Key: k, Values: make([]string, len(t.Properties))}
			for j, p := range t.Properties {
				r.Values[j] = props[p.Name]
			}
			s.mu.RUnlock()
			if ok && !yield(r, nil) {
				return
			}
		}
	}
}

// Links implements idsync.Store.
func (s *Store) Links(ctx context.Context, a *entitytype.Association) iter.Seq2[idsync.Link, error] {
	return s.SortedLinks(ctx, a)
}

// SortedLinks implements idsync.SortedScanner.
func (s *Store) SortedLinks(ctx context.Context, a *entitytype.Association) iter.Seq2[idsync.Link, error] {
	return func(yield func(idsync.Link, error) bool) {
		s.mu.RLock()
		links := slices.SortedFunc(maps.Keys(s.links[a.Name]), func(x, y idsync.Link) int {
			if c := strings.Compare(x.Source, y.Source); c != 0 {
				return c
			}
			return strings.Compare(x.Target, y.Target)
		})
		s.mu.RUnlock()
		for i, l := range links {
			if i%1024 == 0 && ctx.Err() != nil {
				yield(idsync.Link{}, ctx.Err())
				return
			}
			if !yield(l, nil) {
				return
			}
		}
	}
}

// Fingerprint implements idsync.Store: the store's identity and the
// number of changes of the connector's state, "mem-<hex>/0" for a
// connector never applied.
func (s *Store) Fingerprint(ctx context.Context, connector string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fingerprint(connector), nil
}

// fingerprint is Fingerprint, with s.mu held.
func (s *Store) fingerprint(connector string) string {
	return s.identity + "/" + strconv.FormatUint(s.versions[connector], 10)
}

// Identity implements idsync.Identifier: it is made by New, and lives as
// long as the store.
func (s *Store) Identity(ctx context.Context) (string, error) { return s.identity, nil }

// Lock implements idsync.Locker.
func (s *Store) Lock(ctx context.Context, connector string) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[connector] {
		return nil, fmt.Errorf("%w: %s", idsync.ErrBusy, connector)
	}
	s.locks[connector] = true
	var once gosync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.locks, connector)
			s.mu.Unlock()
		})
	}, nil
}

// errInjected is the failure that FailAfter injects.
var errInjected = errors.New("memstore: injected failure")

// Apply implements idsync.Store: it builds the new state of every touched
// entity type and association aside, and swaps it in only when the whole
// change set applied, under the write lock.
func (s *Store) Apply(ctx context.Context, cs *idsync.ChangeSet) error {
	return s.ApplyRun(ctx, cs, nil)
}

// ApplyRun implements idsync.StateStore: Apply, and c's records and
// connector state swapped in with the changes, under the same lock (c may
// be nil).
func (s *Store) ApplyRun(ctx context.Context, cs *idsync.ChangeSet, c *idsync.Commit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fp := s.fingerprint(cs.Connector()); fp != cs.Fingerprint() {
		return fmt.Errorf("%w: fingerprint %s, planned against %s", idsync.ErrStalePlan, fp, cs.Fingerprint())
	}
	writes := 0
	write := func() error {
		writes++
		if s.failAfter > 0 && writes > s.failAfter {
			return errInjected
		}
		if writes%1024 == 0 {
			return ctx.Err()
		}
		return nil
	}
	resources := map[string]map[string]map[string]string{}
	for _, e := range cs.EntityTypes() {
		cur := maps.Clone(s.resources[e.Name])
		if cur == nil {
			cur = map[string]map[string]string{}
		}
		for c, err := range cs.Resources(e.Name) {
			if err != nil {
				return err
			}
			if err := write(); err != nil {
				return err
			}
			props, stored := cur[c.Key]
			switch c.Op {
			case idsync.Insert:
				if stored {
					return fmt.Errorf("%w: insert of stored key %s %q", idsync.ErrStalePlan, e.Name, c.Key)
				}
				props = map[string]string{}
			case idsync.Update:
				if !stored {
					return fmt.Errorf("%w: update of missing key %s %q", idsync.ErrStalePlan, e.Name, c.Key)
				}
				props = maps.Clone(props)
			case idsync.Delete:
				if !stored {
					return fmt.Errorf("%w: delete of missing key %s %q", idsync.ErrStalePlan, e.Name, c.Key)
				}
				delete(cur, c.Key)
				continue
			}
			for _, p := range c.Props {
				if p.New == "" {
					delete(props, p.Name)
				} else {
					props[p.Name] = p.New
				}
			}
			cur[c.Key] = props
		}
		resources[e.Name] = cur
	}
	links := map[string]map[idsync.Link]struct{}{}
	for _, a := range cs.Associations() {
		cur := maps.Clone(s.links[a.Name])
		if cur == nil {
			cur = map[idsync.Link]struct{}{}
		}
		for c, err := range cs.Links(a.Name) {
			if err != nil {
				return err
			}
			if err := write(); err != nil {
				return err
			}
			l := idsync.Link{Source: c.Source, Target: c.Target}
			_, stored := cur[l]
			switch {
			case c.Op == idsync.Insert && stored, c.Op == idsync.Delete && !stored:
				return fmt.Errorf("%w: %s of link %s %s → %s", idsync.ErrStalePlan, c.Op, a.Name, c.Source, c.Target)
			case c.Op == idsync.Insert:
				cur[l] = struct{}{}
			default:
				delete(cur, l)
			}
		}
		links[a.Name] = cur
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	maps.Copy(s.resources, resources)
	maps.Copy(s.links, links)
	s.versions[cs.Connector()]++
	if c != nil {
		s.state.commit(c, s.fingerprint(cs.Connector()))
	}
	return nil
}

// Get returns the stored properties of one resource (a copy), or nil.
func (s *Store) Get(entityType, key string) map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.resources[entityType][key])
}

// Count returns the number of stored resources of an entity type.
func (s *Store) Count(entityType string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.resources[entityType])
}

// LinkCount returns the number of stored links of an association.
func (s *Store) LinkCount(association string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.links[association])
}

// HasLink reports whether a link is stored.
func (s *Store) HasLink(association, source, target string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.links[association][idsync.Link{Source: source, Target: target}]
	return ok
}

// Put stores a resource directly, outside any synchronization (a host's
// own write); it changes the connector's fingerprint.
func (s *Store) Put(connector, entityType, key string, props map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resources[entityType] == nil {
		s.resources[entityType] = map[string]map[string]string{}
	}
	s.resources[entityType][key] = maps.Clone(props)
	s.versions[connector]++
}
