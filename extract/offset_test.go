package extract

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadAtOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.csv")
	content := "\ufeffID,Name\r\nU1,\"Ann\r\nSmith\"\r\nU2,Bob\r\nU3,\"Cy, \"\"C\"\"\"\r\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	r, err := Open(path, nil)
	require.NoError(t, err)
	defer r.Close()
	offsets := map[string]int64{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		offsets[rec[0]] = r.Offset()
	}
	for _, want := range [][]string{{"U3", `Cy, "C"`}, {"U1", "Ann\nSmith"}, {"U2", "Bob"}} {
		got, err := r.ReadAt(offsets[want[0]])
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	x, err := NewCSVReader(strings.NewReader("a\n1\n"), "x", nil)
	require.NoError(t, err)
	_, err = x.ReadAt(0)
	assert.ErrorIs(t, err, ErrNotSeekable)
}
