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
