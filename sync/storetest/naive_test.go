package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// naive is a store written independently of memstore, to check the kit
// against a second implementation; bug switches one defect on, to check
// that the kit catches it.
type naive struct {
	bug string
	id  string // the store's identity

	mu        gosync.Mutex
	res       map[string]map[string]map[string]string // entity type → key → property → value
	links     map[string]map[idsync.Link]bool
	versions  map[string]int
	locks     map[string]bool
	failAfter int
}

// naiveStores numbers the naive stores, for their identities.
var naiveStores atomic.Int64

func newNaive(bug string) *naive {
	return &naive{bug: bug, id: "naive" + strconv.FormatInt(naiveStores.Add(1), 10), res: map[string]map[string]map[string]string{}, links: map[string]map[idsync.Link]bool{},
		versions: map[string]int{}, locks: map[string]bool{}}
}

func (s *naive) key(k string) string {
	if s.bug == "casefold" {
		return strings.ToLower(k)
	}
	return k
}

func (s *naive) records(t *entitytype.EntityType) []idsync.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recordsLocked(t)
}

func (s *naive) recordsLocked(t *entitytype.EntityType) []idsync.Record {
	var out []idsync.Record
	for k, props := range s.res[t.Name] {
		r := idsync.Record{Key: k}
		for _, p := range t.Properties {
			r.Values = append(r.Values, props[p.Name])
		}
		out = append(out, r)
	}
	return out
}

func (s *naive) Resources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return func(yield func(idsync.Record, error) bool) {
		rs := s.records(t)
		if s.bug == "dupscan" && len(rs) > 0 {
			rs = append(rs, rs[0])
		}
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (s *naive) SortedResources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[idsync.Record, error] {
	return func(yield func(idsync.Record, error) bool) {
		var rs []idsync.Record
		if s.bug == "scanleak" {
			// Holds the lock while scanning, and leaks it if the consumer stops.
			s.mu.Lock()
			rs = s.recordsLocked(t)
		} else {
			rs = s.records(t)
		}
		slices.SortFunc(rs, func(a, b idsync.Record) int {
			if s.bug == "collation" {
				if c := cmp.Compare(strings.ToLower(a.Key), strings.ToLower(b.Key)); c != 0 {
					return c
				}
			}
			return strings.Compare(a.Key, b.Key)
		})
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
		if s.bug == "scanleak" {
			s.mu.Unlock()
		}
	}
}

func (s *naive) Links(ctx context.Context, a *entitytype.Association) iter.Seq2[idsync.Link, error] {
	return func(yield func(idsync.Link, error) bool) {
		s.mu.Lock()
		ls := slices.Collect(maps.Keys(s.links[a.Name]))
		s.mu.Unlock()
		for _, l := range ls {
			if !yield(l, nil) {
				return
			}
		}
	}
}

func (s *naive) SortedLinks(ctx context.Context, a *entitytype.Association) iter.Seq2[idsync.Link, error] {
	return func(yield func(idsync.Link, error) bool) {
		s.mu.Lock()
		ls := slices.Collect(maps.Keys(s.links[a.Name]))
		s.mu.Unlock()
		slices.SortFunc(ls, func(x, y idsync.Link) int {
			if s.bug == "linkconcat" { // sorts "source target", not (source, target)
				return strings.Compare(x.Source+" "+x.Target, y.Source+" "+y.Target)
			}
			return compareLinks(x, y)
		})
		for _, l := range ls {
			if !yield(l, nil) {
				return
			}
		}
	}
}

func (s *naive) Fingerprint(ctx context.Context, connector string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fingerprint(connector), nil
}

func (s *naive) fingerprint(connector string) string {
	fp := connector + "@" + strconv.Itoa(s.versions[connector])
	if s.bug == "noidentity" { // a bare counter: the same in every store
		return fp
	}
	return s.id + "/" + fp
}

// reopen returns the store on the same data, as a process that restarts
// sees it: a new identity with the bug "reopenid".
func (s *naive) reopen() *naive {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := newNaive(s.bug)
	if s.bug != "reopenid" {
		r.id = s.id
	}
	r.res, r.links, r.versions, r.failAfter = s.res, s.links, s.versions, s.failAfter
	return r
}

func (s *naive) Lock(ctx context.Context, connector string) (func(), error) {
	if s.bug == "nolock" {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[connector] {
		return nil, fmt.Errorf("naive: %w", idsync.ErrBusy)
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

var errNaiveInjected = errors.New("naive: injected failure")

func (s *naive) Apply(ctx context.Context, cs *idsync.ChangeSet) error {
	s.mu.Lock()
	fp := s.fingerprint(cs.Connector())
	if s.bug == "racycheck" { // checks the fingerprint apart from the writes
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if fp != cs.Fingerprint() && s.bug != "nostalecheck" {
		return fmt.Errorf("naive: %w", idsync.ErrStalePlan)
	}
	// Work on a copy, unless the bug is to write in place.
	res, links := s.res, s.links
	if s.bug != "nonatomic" {
		res, links = map[string]map[string]map[string]string{}, map[string]map[idsync.Link]bool{}
		for name, rs := range s.res {
			res[name] = map[string]map[string]string{}
			for k, props := range rs {
				res[name][k] = maps.Clone(props)
			}
		}
		for name, ls := range s.links {
			links[name] = maps.Clone(ls)
		}
	}
	writes := 0
	write := func() error {
		writes++
		if s.failAfter > 0 && writes > s.failAfter {
			return errNaiveInjected
		}
		return ctx.Err()
	}
	for _, e := range cs.EntityTypes() {
		if res[e.Name] == nil {
			res[e.Name] = map[string]map[string]string{}
		}
		mapped := map[string]bool{}
		for _, p := range cs.Model().EntityType(e.Name).Properties {
			mapped[p.Name] = true
		}
		for c, err := range cs.Resources(e.Name) {
			if err != nil {
				return err
			}
			if err := write(); err != nil {
				return err
			}
			k := s.key(c.Key)
			props, stored := res[e.Name][k]
			switch {
			case c.Op == idsync.Insert && stored, c.Op != idsync.Insert && !stored:
				return fmt.Errorf("naive: %w: %s of %q", idsync.ErrStalePlan, c.Op, c.Key)
			case c.Op == idsync.Delete:
				delete(res[e.Name], k)
				continue
			case c.Op == idsync.Insert:
				props = map[string]string{}
				res[e.Name][k] = props
			}
			if s.bug == "dropunmapped" {
				for p := range props {
					if !mapped[p] {
						delete(props, p)
					}
				}
			}
			for _, p := range c.Props {
				v := p.New
				if s.bug == "trim" {
					v = strings.TrimSpace(v)
				}
				if s.bug == "short" && len(v) > 65535 {
					v = v[:65535]
				}
				if v == "" {
					delete(props, p.Name)
				} else {
					props[p.Name] = v
				}
			}
		}
	}
	for _, a := range cs.Associations() {
		if links[a.Name] == nil {
			links[a.Name] = map[idsync.Link]bool{}
		}
		for c, err := range cs.Links(a.Name) {
			if err != nil {
				return err
			}
			if err := write(); err != nil {
				return err
			}
			l := idsync.Link{Source: c.Source, Target: c.Target}
			if c.Op == idsync.Insert {
				links[a.Name][l] = true
			} else {
				delete(links[a.Name], l)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.res, s.links = res, links
	if s.bug != "fpchanges" || cs.Len() > 0 {
		s.versions[cs.Connector()]++
	}
	return nil
}
