package entitytype_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/entitytype"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/config")

// Each testdata/config/NAME.yaml is the sample configuration of
// examples/sab with a mistake an integrator makes; NAME.err is the exact
// error LoadFile returns for it: the file's line, the object by its name,
// and what to do. Run with -update to rewrite them, then read the diff.
func TestConfigErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := entitytype.LoadFile(file)
			require.Error(t, err)
			assert.ErrorIs(t, err, entitytype.ErrInvalid)
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644))
				return
			}
			want, rerr := os.ReadFile(golden)
			require.NoError(t, rerr)
			assert.Equal(t, strings.TrimSuffix(string(want), "\n"), err.Error())
		})
	}
}

// Load never panics, whatever the bytes: every error is an error.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("a:\n  - b: |\n      x\n     y\n  c: [\n 1,\n]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = entitytype.Load(strings.NewReader(string(data)))
	})
}

// Mistakes written inline: each gives its exact error.
func TestConfigErrorsInline(t *testing.T) {
	const head = "connectors:\n  - name: A\n    entityTypes:\n      - name: T\n        key: [id]\n"
	tests := []struct{ name, yaml, want string }{
		{"a key of a block property indented one more", head +
			"        properties:\n          - name: id\n            column: ID\n             type: int\n",
			`entitytype: line 9: wrong indentation: 13 spaces, deeper than line 8 (12 spaces), which opens no block; indent it like the lines it belongs with (yaml: line 9: mapping values are not allowed in this context)`},
		{"a key of a block property indented one less", head +
			"        properties:\n          - name: id\n           column: ID\n",
			`entitytype: line 8: wrong indentation: 11 spaces, where line 7 has 12 and 10; indent it like the lines it belongs with (yaml: line 6: did not find expected '-' indicator)`},
		{"a line of a text block indented less than its first", head +
			"        properties:\n          - name: id\n            column: ID\n            expression: |\n              ID +\n             \"x\"\n",
			`entitytype: line 11: wrong indentation: 13 spaces, less than the text block that begins on line 9 (14 spaces); indent it like the block's first line (yaml: line 6: did not find expected key)`},
		{"not a mapping", "- a\n",
			`entitytype: line 1: the configuration: want a mapping (name: value, ...), not a list`},
		{"no connector", "connectors:\n",
			`entitytype: line 1: connectors: no connector defined: list the connectors under connectors:`},
		{"JSON", `{"connectors":[{"name":"A","entityTypes":[{"name":"T","key":["id"],"propertiez":[]}]}]}`,
			`entitytype: line 1: unknown field "propertiez" in entity type T (did you mean "properties"?)`},
		{"unnamed objects", "connectors:\n  - entityTypes:\n      - key: [id]\n        properties: [{ column: ID, typ: int }]\n",
			`entitytype: line 4: unknown field "typ" in properties[0] of entityTypes[0] of connectors[0] (did you mean "type"?)`},
		{"a list for a text", head + "        file: [a.csv]\n        properties: [{ name: id, column: ID }]\n",
			`entitytype: line 6: A.T: file: want a text, not a list`},
		{"too many decimals", head + "        properties: [{ name: id, column: ID }]\n        thresholds: { maxPercentDeleted: 2.1234567 }\n",
			`entitytype: line 7: A.T: thresholds.maxPercentDeleted: percentage "2.1234567" has more than 6 decimals`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := entitytype.Load(strings.NewReader(tt.yaml))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}
