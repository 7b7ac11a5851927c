package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A configured file name that leaves the input folder is a configuration
// error naming its line (exit 2): the run copies nothing, so a file outside
// the work folder, or the input file itself, is left untouched.
func TestRunFileOutsideInputFolder(t *testing.T) {
	const victimText = "Code,Name,ParentCode\nV1,Victim,\n"
	for _, tc := range []struct {
		name  string
		input string // the input folder, under the sample's folder
		file  func(dir string) string
	}{
		// The copy of in/a/b/c/day1/../../../../victim.csv lands on
		// work/runs/ID/export/../../../../victim.csv: another file.
		{"overwrite", "in/a/b/c/day1", func(string) string { return "../../../../victim.csv" }},
		// Both are victim.csv: the copy would truncate its own source.
		{"onto itself", "a/b/c/day1", func(string) string { return "../../../../victim.csv" }},
		// An absolute path was silently joined to the input folder.
		{"absolute", "day1", func(dir string) string { return filepath.Join(dir, "victim.csv") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := sample(t)
			input := filepath.Join(dir, filepath.FromSlash(tc.input))
			if tc.input != "day1" {
				require.NoError(t, os.MkdirAll(filepath.Dir(input), 0o755))
				require.NoError(t, os.Rename(filepath.Join(dir, "day1"), input))
			}
			victim := filepath.Join(dir, "victim.csv")
			require.NoError(t, os.WriteFile(victim, []byte(victimText), 0o644))
			// The source of the "overwrite" case, if the path were followed.
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "in"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "in", "victim.csv"), []byte("Code,Name,ParentCode\nX,Attacker,\n"), 0o644))

			cfgPath := filepath.Join(dir, "idsync.yaml")
			cfg, err := os.ReadFile(cfgPath)
			require.NoError(t, err)
			file := tc.file(dir)
			bad := strings.Replace(string(cfg), "file: hr_orgs.csv", "file: "+file, 1)
			require.NotEqual(t, string(cfg), bad)
			require.NoError(t, os.WriteFile(cfgPath, []byte(bad), 0o644))
			inputs := snapshot(t, input)

			r := runBin(t, dir, "run", "--config", "idsync.yaml", "--input", input, "--store", "mem:", "--work", filepath.Join(dir, "work"))
			assert.Equal(t, exitUsage, r.code, "exit code; stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, `idsync.yaml:8: `) // the line of HR_Org's file
			assert.Contains(t, r.stderr, `HR.HR_Org: file: "`+file+`" must be a local name inside the input folder`)

			b, err := os.ReadFile(victim)
			require.NoError(t, err)
			assert.Equal(t, victimText, string(b), "the victim outside the work folder changed")
			assert.Equal(t, inputs, snapshot(t, input), "an input file changed")
		})
	}
}

// snapshot returns the contents of the files in dir, by name.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}
