package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/sync/sqlstore"
)

// TestFileErrors: SQLite's "unable to open database file (14)" and
// "attempt to write a readonly database (8)" name neither the file nor
// the cause; the store's errors name both.
func TestFileErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fileError := func(t *testing.T, err error, path, cause string) {
		t.Helper()
		require.Error(t, err)
		t.Log(err)
		var fe *sqlstore.FileError
		require.True(t, errors.As(err, &fe), "want a *sqlstore.FileError, got %T: %v", err, err)
		assert.Equal(t, path, fe.Path)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), cause)
	}

	t.Run("Directory", func(t *testing.T) {
		p := filepath.Join(dir, "adir.db")
		require.NoError(t, os.Mkdir(p, 0o755))
		_, err := sqlstore.Open(ctx, "sqlite:"+p, nil)
		fileError(t, err, p, "the path is a directory")
	})
	t.Run("ParentIsAFile", func(t *testing.T) {
		f := filepath.Join(dir, "file")
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o644))
		p := filepath.Join(f, "idsync.db")
		_, err := sqlstore.Open(ctx, "sqlite:"+p, nil)
		fileError(t, err, p, "is not a folder")
	})
	t.Run("NoFolder", func(t *testing.T) {
		p := filepath.Join(dir, "missing", "idsync.db")
		_, err := sqlstore.Open(ctx, "sqlite:"+p, nil)
		fileError(t, err, p, "does not exist")
	})
	t.Run("OpenedReadOnly", func(t *testing.T) {
		// Works as root too: the connection, not the file, is read-only.
		p := filepath.Join(dir, "ro.db")
		s, err := sqlstore.Open(ctx, "sqlite:"+p, nil)
		require.NoError(t, err)
		require.NoError(t, s.Close())
		ro, err := sqlstore.Open(ctx, "file:"+p+"?mode=ro", nil)
		require.NoError(t, err)
		defer ro.Close()
		err = ro.Put(ctx, "HR", "User", "U1", map[string]string{"id": "U1"})
		fileError(t, err, p, "read-only")
	})
	t.Run("ReadOnlyFolder", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root, which writes read-only folders: the case is covered by OpenedReadOnly")
		}
		ro := filepath.Join(dir, "rofolder")
		require.NoError(t, os.Mkdir(ro, 0o555))
		p := filepath.Join(ro, "idsync.db")
		_, err := sqlstore.Open(ctx, "sqlite:"+p, nil)
		fileError(t, err, p, "not writable")
	})
}
