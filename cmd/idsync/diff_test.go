package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/internal/gen"
)

// TestDiffGenerated compares the generator's two versions with idsync
// diff: the counts are the generator's expected ones.
func TestDiffGenerated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := gen.Generate(dir, gen.Options{N: 2000, Seed: 7})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, gen.ExpectedFile))
	require.NoError(t, err)
	var expected struct {
		EntityTypes  []map[string]any `json:"entityTypes"`
		Associations []map[string]any `json:"associations"`
	}
	require.NoError(t, json.Unmarshal(b, &expected))
	find := func(list []map[string]any, name string) map[string]any {
		for _, e := range list {
			if e["name"] == name {
				return e
			}
		}
		t.Fatalf("expected.json has no %s", name)
		return nil
	}
	cfg := filepath.Join(dir, gen.ConfigFile)
	cur, nw := filepath.Join(dir, gen.CurrentDir), filepath.Join(dir, gen.NewDir)

	cases := []struct {
		name, file, kind string
		want             map[string]any
	}{
		{gen.UserType, "users.csv", "entityTypes", find(expected.EntityTypes, gen.UserType)},
		{gen.Members, "members.csv", "associations", find(expected.Associations, gen.Members)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Files, then folders.
			for _, sides := range [][2]string{
				{filepath.Join(cur, c.file), filepath.Join(nw, c.file)},
				{cur, nw},
			} {
				r := expect(t, dir, 0, "diff", "--config", cfg, "--entity", c.name, sides[0], sides[1], "--json")
				m := decode(t, r.stdout)
				list := m[c.kind].([]any)
				require.Len(t, list, 1, "only %s is compared", c.name)
				got := list[0].(map[string]any)
				for k, v := range c.want {
					assert.Equal(t, v, got[k], "%s %s", c.name, k)
				}
				other := "associations"
				if c.kind == "associations" {
					other = "entityTypes"
				}
				assert.Empty(t, m[other])
				assert.Equal(t, float64(0), m["oldRejected"])
				assert.Equal(t, float64(0), m["newRejected"])
			}
		})
	}

	// The generator's GEN_User has a simple name: also readable as text,
	// and --changes lists the changes.
	r := expect(t, dir, 0, "diff", "--config", cfg, "--entity", gen.UserType, filepath.Join(cur, "users.csv"), filepath.Join(nw, "users.csv"), "--changes", "--limit", "2")
	assert.Regexp(t, `(?m)^  GEN_User\s+2,000\s+`, r.stdout)
	assert.Contains(t, r.stdout, "GEN_User: ")
	assert.Regexp(t, `(?m)^  (insert|update|delete)\s+U\d+`, r.stdout)
	assert.Contains(t, r.stdout, " more\n")

	r = expect(t, dir, 0, "diff", "--config", cfg, "--entity", gen.Members, cur, nw, "--changes", "--json")
	changes := decode(t, r.stdout)["changes"].([]any)
	want := find(expected.Associations, gen.Members)
	assert.Len(t, changes, int(want["inserted"].(float64)+want["deleted"].(float64)))
	first := changes[0].(map[string]any)
	assert.Equal(t, gen.Members, first["association"])
	assert.Contains(t, []any{"insert", "delete"}, first["op"])

	// Errors: an unknown type, a missing file.
	r = expect(t, dir, 2, "diff", "--config", cfg, "--entity", "NOPE", cur, nw)
	assert.Contains(t, r.stderr, `no entity type or association "NOPE"`)
	r = expect(t, dir, 2, "diff", "--config", cfg, "--entity", gen.UserType, filepath.Join(cur, "nope.csv"), nw)
	assert.Contains(t, r.stderr, "nope.csv: no such file or folder")
}

// TestDiffRejections diffs files with bad rows: counted per side, and
// kept in --out.
func TestDiffRejections(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	bad := filepath.Join(dir, "bad_users.csv")
	b, err := os.ReadFile(filepath.Join(dir, "day2", "sab_users.csv"))
	require.NoError(t, err)
	b = []byte(strings.Replace(string(b), "03/02/2024", "31/02/2024", 1)) // U0012: no such date
	require.NoError(t, os.WriteFile(bad, b, 0o644))
	out := filepath.Join(dir, "out")
	r := expect(t, dir, 0, "diff", "--config", "idsync.yaml", "--entity", "SAB_User", "day1/sab_users.csv", bad, "--json", "--out", out)
	m := decode(t, r.stdout)
	assert.Equal(t, float64(0), m["oldRejected"])
	assert.Equal(t, float64(1), m["newRejected"])
	u := m["entityTypes"].([]any)[0].(map[string]any)
	assert.Equal(t, float64(1), u["rejected"])
	assert.Equal(t, float64(1), u["protected"], "the rejected key is kept as it was")
	assert.Equal(t, float64(1), u["updated"], "U0020 only: U0012 is protected")
	assert.FileExists(t, m["newReport"].(string))

	r = expect(t, dir, 0, "diff", "--config", "idsync.yaml", "--entity", "SAB_User", "day1/sab_users.csv", bad)
	assert.Contains(t, r.stdout, "1 rejected row (SAB_User: invalidValue 1)")
}
