package blobartifacts_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/artifactstest"
	"github.com/idsync/idsync/sync/blobartifacts"
)

func open(t *testing.T, u string) idsync.Artifacts {
	b, err := blobartifacts.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func fileURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=1"}).String()
}

// TestMemArtifacts runs the conformance kit on mem:// buckets.
func TestMemArtifacts(t *testing.T) {
	artifactstest.Run(t, func(t *testing.T) idsync.Artifacts { return open(t, "mem://") })
}

// TestFileArtifacts runs the conformance kit on file:// buckets.
func TestFileArtifacts(t *testing.T) {
	artifactstest.Run(t, func(t *testing.T) idsync.Artifacts { return open(t, fileURL(t.TempDir())) })
}

// TestArtifactsOpenUnknownScheme checks that a scheme whose driver is not imported
// is an error naming the URL.
func TestArtifactsOpenUnknownScheme(t *testing.T) {
	_, err := blobartifacts.Open(t.Context(), "s3://bucket")
	if err == nil {
		t.Fatal("Open(s3://bucket) without s3blob imported succeeded")
	}
	t.Log(err)
}

func ExampleOpen() {
	ctx := context.Background()
	a, err := blobartifacts.Open(ctx, "mem://") // or file:///path?create_dir=1, s3://..., gs://..., azblob://...
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	if err := a.Put(ctx, "reports/run-1/summary.json", strings.NewReader(`{"rejected":0}`)); err != nil {
		fmt.Println(err)
		return
	}
	r, err := a.Get(ctx, "reports/run-1/summary.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(r)
	r.Close()
	fmt.Println(string(b))
	_, err = a.Get(ctx, "reports/run-2/summary.json")
	fmt.Println(errors.Is(err, idsync.ErrArtifactNotFound))
	for key, err := range a.List(ctx, "reports/") {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(key)
	}
	// Output:
	// {"rejected":0}
	// true
	// reports/run-1/summary.json
}
