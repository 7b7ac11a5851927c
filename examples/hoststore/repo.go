package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"strconv"
	gosync "sync"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// Resource is a resource as the host's domain model holds it: its
// properties by name, and a version that the host bumps on every write
// (for its own optimistic locking; idsync knows nothing of it).
type Resource struct {
	Props   map[string]string
	Version int
}

// Repo is the host's in-memory repository, made an idsync.Store by four
// methods: Resources, Links, Fingerprint and Apply. It implements none of
// the optional interfaces, so the engine sorts what Repo scans (no
// idsync.SortedScanner) and keeps runs of one connector apart with a lock
// of its own process (no idsync.Locker); runs record no store identity
// (no idsync.Identifier), though its fingerprints include one.
//
// Apply is atomic through an undo log: it writes each change in place and
// records how to revert it; if anything fails before the end, it replays
// the log backwards. A Repo is safe for concurrent use.
type Repo struct {
	mu        gosync.RWMutex
	resources map[string]map[string]*Resource // entity type → key → resource
	links     map[string]map[idsync.Link]bool // association → links
	applies   map[string]int                  // connector → successful Applies
	id        string                          // the repository's identity, part of every fingerprint
	failAfter int                             // see FailAfter
}

// NewRepo returns an empty repository, with an identity of its own. A
// host whose repository lives in a database keeps the identity there (a
// row written when its schema is created), so that it survives restarts
// and no other repository has it.
func NewRepo() *Repo {
	var id [16]byte
	rand.Read(id[:])
	return &Repo{
		id:        hex.EncodeToString(id[:]),
		resources: map[string]map[string]*Resource{},
		links:     map[string]map[idsync.Link]bool{},
		applies:   map[string]int{},
	}
}

// Get returns a copy of a stored resource.
func (r *Repo) Get(entityType, key string) (Resource, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	res, ok := r.resources[entityType][key]
	if !ok {
		return Resource{}, false
	}
	return Resource{Props: maps.Clone(res.Props), Version: res.Version}, true
}

// HasLink reports whether a link of an association is stored.
func (r *Repo) HasLink(association, source, target string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.links[association][idsync.Link{Source: source, Target: target}]
}

// FailAfter makes every later Apply fail once it has written n changes,
// until FailAfter(0): a fault-injection hook for tests of atomicity.
func (r *Repo) FailAfter(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failAfter = n
}

// Resources implements idsync.Store: the values of t's properties, in
// their order, of every stored resource of t. It copies them under the
// read lock and yields them after releasing it, so a consumer that stops
// early, or takes its time, holds no lock.
func (r *Repo) Resources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return func(yield func(idsync.Record, error) bool) {
		r.mu.RLock()
		records := make([]idsync.Record, 0, len(r.resources[t.Name]))
		for key, res := range r.resources[t.Name] {
			values := make([]string, len(t.Properties))
			for i, p := range t.Properties {
				values[i] = res.Props[p.Name] // "" when null or never set
			}
			records = append(records, idsync.Record{Key: key, Values: values})
		}
		r.mu.RUnlock()
		for _, rec := range records {
			if err := ctx.Err(); err != nil {
				yield(idsync.Record{}, err)
				return
			}
			if !yield(rec, nil) {
				return
			}
		}
	}
}

// Links implements idsync.Store.
func (r *Repo) Links(ctx context.Context, a *entitytype.Association) iter.Seq2[idsync.Link, error] {
	return func(yield func(idsync.Link, error) bool) {
		r.mu.RLock()
		links := make([]idsync.Link, 0, len(r.links[a.Name]))
		for l := range r.links[a.Name] {
			links = append(links, l)
		}
		r.mu.RUnlock()
		for _, l := range links {
			if err := ctx.Err(); err != nil {
				yield(idsync.Link{}, err)
				return
			}
			if !yield(l, nil) {
				return
			}
		}
	}
}

// Fingerprint implements idsync.Store: the repository's identity and the
// number of successful Applies of the connector, so that a plan made
// against another repository never applies to this one.
func (r *Repo) Fingerprint(ctx context.Context, connector string) (string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fingerprint(connector), nil
}

// fingerprint is Fingerprint, with r.mu held.
func (r *Repo) fingerprint(connector string) string {
	return r.id + "/" + strconv.Itoa(r.applies[connector])
}

// errInjected is the failure that FailAfter injects.
var errInjected = errors.New("hoststore: injected failure")

// Apply implements idsync.Store. It holds the write lock throughout, so
// the fingerprint check and the writes are one atomic step; every write is
// logged in undo, which the deferred function replays backwards when Apply
// fails: on a stale plan, a change set that cannot be read, an injected
// failure, or a cancelled context.
func (r *Repo) Apply(ctx context.Context, cs *idsync.ChangeSet) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fp := r.fingerprint(cs.Connector()); fp != cs.Fingerprint() {
		return fmt.Errorf("%w: fingerprint %s, planned at %s", idsync.ErrStalePlan, fp, cs.Fingerprint())
	}

	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	// write is called before each change: it stops Apply when the
	// context is done or an injected failure is due.
	writes := 0
	write := func() error {
		if r.failAfter > 0 && writes >= r.failAfter {
			return errInjected
		}
		writes++
		return ctx.Err()
	}

	for _, e := range cs.EntityTypes() {
		table := r.resources[e.Name]
		if table == nil {
			table = map[string]*Resource{}
			r.resources[e.Name] = table
		}
		for c, err := range cs.Resources(e.Name) {
			if err != nil {
				return err
			}
			if err := write(); err != nil {
				return err
			}
			old, stored := table[c.Key]
			if stored == (c.Op == idsync.Insert) {
				// Another connector sharing the entity type wrote the key.
				return fmt.Errorf("%w: %s of %s %q", idsync.ErrStalePlan, c.Op, e.Name, c.Key)
			}
			// Copy on write, one resource at a time: the undo entry puts
			// the old *Resource back.
			undo = append(undo, func() {
				if stored {
					table[c.Key] = old
				} else {
					delete(table, c.Key)
				}
			})
			if c.Op == idsync.Delete {
				delete(table, c.Key)
				continue
			}
			next := &Resource{Props: map[string]string{}, Version: 1}
			if stored {
				next = &Resource{Props: maps.Clone(old.Props), Version: old.Version + 1}
			}
			for _, p := range c.Props { // only the properties the change lists
				if p.New == "" {
					delete(next.Props, p.Name)
				} else {
					next.Props[p.Name] = p.New
				}
			}
			table[c.Key] = next
		}
	}

	for _, a := range cs.Associations() {
		set := r.links[a.Name]
		if set == nil {
			set = map[idsync.Link]bool{}
			r.links[a.Name] = set
		}
		for c, err := range cs.Links(a.Name) {
			if err != nil {
				return err
			}
			if err := write(); err != nil {
				return err
			}
			l := idsync.Link{Source: c.Source, Target: c.Target}
			insert := c.Op == idsync.Insert
			if set[l] == insert {
				return fmt.Errorf("%w: %s of link %s %q → %q", idsync.ErrStalePlan, c.Op, a.Name, c.Source, c.Target)
			}
			undo = append(undo, func() { setLink(set, l, !insert) })
			setLink(set, l, insert)
		}
	}

	if err := ctx.Err(); err != nil {
		return err
	}
	r.applies[cs.Connector()]++ // nothing can fail past this point
	return nil
}

func setLink(set map[idsync.Link]bool, l idsync.Link, present bool) {
	if present {
		set[l] = true
	} else {
		delete(set, l)
	}
}
