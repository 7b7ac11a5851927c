package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	idsync "github.com/idsync/idsync/sync"
)

// state is the engine's state that a Store keeps: run records as JSON, so
// that callers never share a record with the store, and connector states.
type state struct {
	runs       map[string][]byte
	connectors map[string]idsync.ConnectorState
}

// commit saves c's records and changes its connector's state; the caller
// holds the store's write lock.
func (st *state) commit(c *idsync.Commit, fingerprint string) {
	for _, r := range c.Runs {
		st.runs[r.ID], _ = json.Marshal(r)
	}
	cs := st.connectors[c.Connector()]
	c.State(&cs, fingerprint)
	st.connectors[c.Connector()] = cs
}

// SaveRun implements idsync.StateKeeper.
func (s *Store) SaveRun(ctx context.Context, r *idsync.Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("memstore: run %s: %w", r.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.runs[r.ID] = b
	return nil
}

// LoadRun implements idsync.StateKeeper.
func (s *Store) LoadRun(ctx context.Context, id string) (*idsync.Run, error) {
	s.mu.RLock()
	b, ok := s.state.runs[id]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("memstore: %w: %s", idsync.ErrNotFound, id)
	}
	r := &idsync.Run{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("memstore: run %s: %w", id, err)
	}
	return r, nil
}

// Runs implements idsync.StateKeeper.
func (s *Store) Runs(ctx context.Context, q idsync.RunQuery) ([]*idsync.Run, error) {
	s.mu.RLock()
	ids := slices.Collect(maps.Keys(s.state.runs))
	s.mu.RUnlock()
	var runs []*idsync.Run
	for _, id := range ids {
		r, err := s.LoadRun(ctx, id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return q.Select(runs), nil
}

// DeleteRun implements idsync.StateKeeper.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.state.runs, id)
	return nil
}

// ConnectorState implements idsync.StateKeeper.
func (s *Store) ConnectorState(ctx context.Context, name string) (idsync.ConnectorState, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.connectors[name], nil
}

// UpdateConnectorState implements idsync.StateKeeper.
func (s *Store) UpdateConnectorState(ctx context.Context, name string, change func(*idsync.ConnectorState)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.state.connectors[name]
	change(&cs)
	s.state.connectors[name] = cs
	return nil
}

var _ idsync.StateStore = (*Store)(nil)
