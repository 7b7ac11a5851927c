package sync

import (
	"context"
	"fmt"
)

// StoreMismatchError refuses to resume a run in another store than the
// one it was planned against: nothing was written. It matches
// [ErrStalePlan].
type StoreMismatchError struct {
	// RunID is the run refused.
	RunID string
	// Planned and PlannedID are the name (Options.StoreName) and the
	// identity of the store the run was planned against.
	Planned, PlannedID string
	// Store and StoreID are those of the store it was to apply to.
	Store, StoreID string
}

func (e *StoreMismatchError) Error() string {
	return fmt.Sprintf("idsync: stale plan: run %s was planned against store %s, not %s: it applies only there",
		e.RunID, storeLabel(e.Planned, e.PlannedID), storeLabel(e.Store, e.StoreID))
}

// Unwrap returns ErrStalePlan.
func (e *StoreMismatchError) Unwrap() error { return ErrStalePlan }

// storeLabel names a store by its name and identity.
func storeLabel(name, id string) string {
	if name == "" {
		return "(identity " + id + ")"
	}
	return name + " (identity " + id + ")"
}

// storeIdentity returns the store's identity if it is an Identifier, or "".
func (e *Engine) storeIdentity(ctx context.Context) (string, error) {
	s, ok := e.store.(Identifier)
	if !ok {
		return "", nil
	}
	id, err := s.Identity(ctx)
	if err != nil {
		return "", fmt.Errorf("idsync: store identity: %w", err)
	}
	return id, nil
}

// checkStore refuses a run planned against another store than the
// engine's, if both identities are known; the fingerprint check refuses it
// in any case, since fingerprints include the identity.
func (e *Engine) checkStore(ctx context.Context, run *Run) error {
	if run.StoreID == "" {
		return nil
	}
	id, err := e.storeIdentity(ctx)
	if err != nil || id == "" || id == run.StoreID {
		return err
	}
	return &StoreMismatchError{RunID: run.ID, Planned: run.StoreName, PlannedID: run.StoreID, Store: e.opts.StoreName, StoreID: id}
}
