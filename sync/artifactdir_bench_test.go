package sync_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/blobartifacts"
)

// BenchmarkPutGetDir stores a folder of 4 files with PutDir into new
// artifacts, then gets it back with GetDir, in the local folder and in a
// file:// bucket. The folder holds 8 MiB; set IDSYNC_BENCH_ARTIFACT_MB for
// more (a few hundred, say):
//
//	IDSYNC_BENCH_ARTIFACT_MB=400 go test -run '^$' -bench PutGetDir -benchtime 3x ./sync/
func BenchmarkPutGetDir(b *testing.B) {
	mb := 8
	if s := os.Getenv("IDSYNC_BENCH_ARTIFACT_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("IDSYNC_BENCH_ARTIFACT_MB=%q: want a number of MiB", s)
		}
		mb = n
	}
	src := filepath.Join(b.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	for i := range 4 {
		f, err := os.Create(filepath.Join(src, fmt.Sprintf("table%d.prepared", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyN(f, rng, int64(mb)<<20/4); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	backends := []struct {
		name string
		open func(dir string) (idsync.Artifacts, func())
	}{
		{"Folder", func(dir string) (idsync.Artifacts, func()) { return idsync.NewFolderArtifacts(dir), func() {} }},
		{"FileBucket", func(dir string) (idsync.Artifacts, func()) {
			u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=1"}).String()
			a, err := blobartifacts.Open(b.Context(), u)
			if err != nil {
				b.Fatal(err)
			}
			return a, func() { a.Close() }
		}},
	}
	for _, be := range backends {
		b.Run(fmt.Sprintf("%s/%dMiB", be.name, mb), func(b *testing.B) {
			b.SetBytes(int64(mb) << 20)
			for b.Loop() {
				root := b.TempDir()
				a, closeA := be.open(filepath.Join(root, "artifacts"))
				ref, err := idsync.PutDir(b.Context(), a, "p", src)
				if err != nil {
					b.Fatal(err)
				}
				if err := idsync.GetDir(b.Context(), a, "p", ref, filepath.Join(root, "dst")); err != nil {
					b.Fatal(err)
				}
				closeA()
				os.RemoveAll(root)
			}
		})
	}
}
