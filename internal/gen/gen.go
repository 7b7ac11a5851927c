// Package gen generates synthetic extraction files for benchmarks and
// end-to-end tests of idsync.
//
// [Generate] writes two versions of the export of one connector, GEN: the
// current one (what the store is assumed to hold) and a new one that differs
// from it by a known set of changes. Each version is a folder holding
// users.csv, groups.csv, orgs.csv and members.csv. The new version deletes
// 1 % of the users, inserts 1 % new ones, updates 2 % of the remaining ones
// (1 to 3 columns each, always to a value whose canonical form differs), and
// changes the group memberships of 2 % of them, drawn independently of the
// updated ones (1 to 3 groups added and/or removed). Deleted users lose
// their memberships and inserted users get some. Every file lists its rows
// in random order. Groups and organizations are identical in both versions.
// The counts that a correct synchronization of the new version against the
// current one must report are computed while generating and returned as an
// [Expected].
//
// Generation is deterministic: the same [Options] produce the same bytes.
package gen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Names used by the generated configuration: the connector, its entity
// types and its association.
const (
	Connector = "GEN"
	UserType  = "GEN_User"
	GroupType = "GEN_Group"
	OrgType   = "GEN_Org"
	Members   = "GEN_Members"
)

// Names of what [Generate] writes in its folder: the folders of the two
// versions, the configuration and the expected counts.
const (
	CurrentDir   = "current"
	NewDir       = "new"
	ConfigFile   = "idsync.yaml"
	ExpectedFile = "expected.json"
)

// Rates of change between the current and the new version, in percent.
const (
	deletedPct    = 1 // of the current users
	insertedPct   = 1 // of the current users
	updatedPct    = 2 // of the users that are kept
	membershipPct = 2 // of the users that are kept
)

// maxN keeps user IDs and group indexes within int32.
const maxN = 1 << 30

// Options says what to generate.
type Options struct {
	// N is the number of users in the current version; it must be positive.
	// The pools hold max(N/100, 20) groups and max(N/1000, 10) organizations.
	N int
	// Seed seeds the random generator.
	Seed int64
	// GroupsPerUser is the mean number of groups a user belongs to; each
	// user gets between GroupsPerUser/2 below and above it (5 to 15 for 10),
	// at most as many as there are groups. 10 when zero.
	GroupsPerUser int
}

// Expected holds the counts that synchronizing the new version against the
// current one must report. Its JSON form is what the gendata command prints
// with -json and writes to expected.json.
type Expected struct {
	// EntityTypes are GEN_User, GEN_Group and GEN_Org, in that order.
	EntityTypes []EntityCounts `json:"entityTypes"`
	// Associations is GEN_Members.
	Associations []AssociationCounts `json:"associations"`
}

// EntityCounts are the expected counts of one entity type.
type EntityCounts struct {
	// Name is the entity type's name.
	Name string `json:"name"`
	// Stored is the number of rows of the current version, Read the number
	// of rows of the new version.
	Stored int `json:"stored"`
	Read   int `json:"read"`
	// Inserted, Updated, Deleted and Unchanged count resources by their fate;
	// Stored = Updated + Deleted + Unchanged and Read = Inserted + Updated +
	// Unchanged.
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

// AssociationCounts are the expected counts of links of one association.
type AssociationCounts struct {
	// Name is the association's name.
	Name string `json:"name"`
	// Stored is the number of links of the current version, Read the number
	// of links of the new version; Read = Stored - Deleted + Inserted.
	Stored   int `json:"stored"`
	Read     int `json:"read"`
	Inserted int `json:"inserted"`
	Deleted  int `json:"deleted"`
}

// WriteText writes e as two human-readable tables, one for the entity
// types and one for the associations.
func (e *Expected) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %10s %10s %10s %10s %10s %10s\n",
		"entity type", "stored", "read", "inserted", "updated", "deleted", "unchanged")
	for _, c := range e.EntityTypes {
		fmt.Fprintf(&b, "%-12s %10d %10d %10d %10d %10d %10d\n",
			c.Name, c.Stored, c.Read, c.Inserted, c.Updated, c.Deleted, c.Unchanged)
	}
	fmt.Fprintf(&b, "\n%-12s %10s %10s %10s %10s\n", "association", "stored", "read", "inserted", "deleted")
	for _, c := range e.Associations {
		fmt.Fprintf(&b, "%-12s %10d %10d %10d %10d\n", c.Name, c.Stored, c.Read, c.Inserted, c.Deleted)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes e as one line of JSON.
func (e *Expected) WriteJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(e)
}

// Generate writes the current and new versions of the data described by
// opts into dir/current and dir/new, the configuration to dir/idsync.yaml
// and the expected counts to dir/expected.json, creating the folders as
// needed and overwriting existing files. It returns the expected counts.
func Generate(dir string, opts Options) (*Expected, error) {
	if opts.N <= 0 || opts.N > maxN {
		return nil, fmt.Errorf("gen: N must be between 1 and %d, not %d", maxN, opts.N)
	}
	if opts.GroupsPerUser < 0 {
		return nil, fmt.Errorf("gen: GroupsPerUser must not be negative, not %d", opts.GroupsPerUser)
	}
	if opts.GroupsPerUser == 0 {
		opts.GroupsPerUser = 10
	}
	for _, d := range []string{CurrentDir, NewDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
	}
	g := newGenerator(opts)
	exp := g.build()

	cur, nw := filepath.Join(dir, CurrentDir), filepath.Join(dir, NewDir)
	// Every task shuffles with its own generator, seeded here in a fixed
	// order, so that the tasks can run concurrently and still produce the
	// same bytes every time.
	tasks := []func(r *rand.Rand) error{
		func(r *rand.Rand) error { return writeUsers(filepath.Join(cur, "users.csv"), g.current, r) },
		func(r *rand.Rand) error { return writeUsers(filepath.Join(nw, "users.csv"), g.next, r) },
		func(r *rand.Rand) error { return writeMembers(filepath.Join(cur, "members.csv"), g.current, r) },
		func(r *rand.Rand) error { return writeMembers(filepath.Join(nw, "members.csv"), g.next, r) },
		func(r *rand.Rand) error { return writeGroups(g.groups, r, cur, nw) },
		func(r *rand.Rand) error { return writeOrgs(g.orgs, r, cur, nw) },
	}
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, task := range tasks {
		r := rand.New(rand.NewPCG(g.r.Uint64(), g.r.Uint64()))
		wg.Go(func() { errs[i] = task(r) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := writeConfig(filepath.Join(dir, ConfigFile)); err != nil {
		return nil, err
	}
	if err := writeExpected(filepath.Join(dir, ExpectedFile), exp); err != nil {
		return nil, err
	}
	return exp, nil
}

func writeExpected(path string, exp *Expected) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if err := exp.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("gen: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	return nil
}

// percent returns pct % of n, rounded to the nearest integer.
func percent(n, pct int) int { return (n*pct + 50) / 100 }
