package main

import (
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/storetest"
)

// harness gives the conformance kit a new Repo per clause, and arms its
// fault injection.
type harness struct{}

func (harness) NewStore(t *testing.T) idsync.Store { return NewRepo() }

func (harness) FailAfter(s idsync.Store, n int) bool {
	s.(*Repo).FailAfter(n)
	return true
}

// TestRepo runs every clause of the idsync.Store contract on Repo. Run it
// with -race: several clauses are concurrent.
func TestRepo(t *testing.T) {
	storetest.Run(t, harness{})
}
