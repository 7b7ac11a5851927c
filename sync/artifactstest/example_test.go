package artifactstest_test

import (
	"fmt"
	"path/filepath"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/artifactstest"
)

// An implementation runs the kit from a test of its own; each clause is a
// subtest, on new artifacts.
func ExampleRun() {
	newArtifacts := func(t *testing.T) idsync.Artifacts {
		return idsync.NewFolderArtifacts(filepath.Join(t.TempDir(), "artifacts"))
	}
	_ = newArtifacts // in a _test.go file: func TestMine(t *testing.T) { artifactstest.Run(t, newArtifacts) }

	for _, clause := range artifactstest.Clauses() {
		fmt.Println(clause)
	}
	// Output:
	// RoundTrip
	// LargeObjectStreams
	// MissingKeyNotFound
	// OverwriteReplaces
	// PutIsAtomic
	// ConcurrentPuts
	// ListByPrefix
	// DeleteIsIdempotent
	// KeysAreValidated
}
