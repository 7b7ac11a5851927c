package sync_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/artifactstest"
)

// TestFolderArtifacts runs the conformance kit on the folder default.
func TestFolderArtifacts(t *testing.T) {
	artifactstest.Run(t, func(t *testing.T) idsync.Artifacts {
		return idsync.NewFolderArtifacts(filepath.Join(t.TempDir(), "artifacts"))
	})
}

// TestFolderArtifactsStayInFolder checks that no invalid key touches a
// file outside the folder (nor inside it), that the folder is created by
// the first Put, that Delete removes the folders it empties, and that a
// temporary file left by a process that died is neither listed nor read.
func TestFolderArtifactsStayInFolder(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	dir := filepath.Join(root, "art")
	a := idsync.NewFolderArtifacts(dir)
	if err := os.WriteFile(filepath.Join(root, "x"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../x", "../art2/y", "/" + filepath.ToSlash(filepath.Join(root, "x"))} {
		if err := a.Put(ctx, key, bytes.NewReader([]byte("overwritten"))); !errors.Is(err, idsync.ErrInvalidArtifactKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidArtifactKey", key, err)
		}
		if err := a.Delete(ctx, key); !errors.Is(err, idsync.ErrInvalidArtifactKey) {
			t.Errorf("Delete(%q): %v, want ErrInvalidArtifactKey", key, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "x")); string(b) != "outside" {
		t.Errorf("the file beside the folder holds %q", b)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("invalid keys made files beside the folder: %v", entries)
	}

	if err := a.Put(ctx, "p/q/r", bytes.NewReader([]byte("r"))); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "p", "q", "r")); err != nil || string(b) != "r" {
		t.Fatalf("the object of p/q/r is not the file p/q/r of the folder: %q, %v", b, err)
	}
	// A temporary file of a Put that died.
	if err := os.WriteFile(filepath.Join(dir, "p", "q", ".tmp-123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, err := range a.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if !slices.Equal(keys, []string{"p/q/r"}) {
		t.Errorf("List yields %q, want only p/q/r", keys)
	}
	if err := os.Remove(filepath.Join(dir, "p", "q", ".tmp-123")); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "p/q/r"); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("Delete left the folders it emptied: %v %v", entries, err)
	}

	// A key whose folder is a file, or a key that is a folder.
	if err := a.Put(ctx, "f", bytes.NewReader([]byte("f"))); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "f/g"); !errors.Is(err, idsync.ErrArtifactNotFound) {
		t.Errorf("Get(f/g) with f an object: %v, want ErrArtifactNotFound", err)
	}
	if err := a.Delete(ctx, "f/g"); err != nil {
		t.Errorf("Delete(f/g) with f an object: %v, want nil", err)
	}
	if err := a.Put(ctx, "f/g", bytes.NewReader([]byte("g"))); err == nil {
		t.Errorf("Put(f/g) with f an object succeeded")
	}
	if err := a.Put(ctx, "h/i", bytes.NewReader([]byte("i"))); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, "h", bytes.NewReader([]byte("h"))); err == nil {
		t.Errorf("Put(h) with h/i an object succeeded")
	}
	r, err := a.Get(ctx, "h/i")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "i" {
		t.Errorf("h/i holds %q", b)
	}
}

// TestCheckArtifactKey checks the key rules beyond the kit's bad keys.
func TestCheckArtifactKey(t *testing.T) {
	for _, key := range artifactstest.BadKeys {
		if err := idsync.CheckArtifactKey(key); !errors.Is(err, idsync.ErrInvalidArtifactKey) {
			t.Errorf("CheckArtifactKey(%q) = %v, want ErrInvalidArtifactKey", key, err)
		}
	}
	for _, key := range []string{"a", "a/b", "a.b", "a..b/c", "x/y.z", "-", "a b", "é/漢", "a~/_b"} {
		if err := idsync.CheckArtifactKey(key); err != nil {
			t.Errorf("CheckArtifactKey(%q) = %v, want nil", key, err)
		}
	}
	for prefix, ok := range map[string]bool{"": true, "a": true, "a/": true, "a/b": true, "a/.": true, "../": false, "/a": false, "a//": false, ".tmp/x": false, "\xff": false} {
		if err := idsync.CheckArtifactPrefix(prefix); (err == nil) != ok || err != nil && !errors.Is(err, idsync.ErrInvalidArtifactKey) {
			t.Errorf("CheckArtifactPrefix(%q) = %v, want ok=%v", prefix, err, ok)
		}
	}
}
