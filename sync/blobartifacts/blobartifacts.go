// Package blobartifacts stores idsync's artifacts ([idsync.Artifacts]) in
// a Go CDK blob bucket (gocloud.dev/blob), which several engine instances
// may share:
//
//	a, err := blobartifacts.Open(ctx, "file:///var/lib/idsync/artifacts?create_dir=1")
//	defer a.Close()
//	ref, err := idsync.PutDir(ctx, a, "changesets", dir)
//
// Open registers the file:// (gocloud.dev/blob/fileblob) and mem://
// (gocloud.dev/blob/memblob) schemes. To use another service, blank-import
// its driver in your main package, and give Open its URL:
//
//	import (
//		_ "gocloud.dev/blob/s3blob"    // s3://bucket?region=eu-west-3
//		_ "gocloud.dev/blob/gcsblob"   // gs://bucket
//		_ "gocloud.dev/blob/azureblob" // azblob://container
//	)
//
// Each driver reads its credentials the way its service's SDK does (see
// https://gocloud.dev/howto/blob/). Or open the bucket yourself, with
// blob.OpenBucket or a driver's own constructor, and wrap it with [New].
//
// Put is atomic as the Artifacts contract says: the object appears only
// when the bucket's writer closes without error, and a Put whose reader
// fails, or whose context is cancelled, cancels the writer's context
// before closing it, which aborts the write (no object, the previous one
// kept).
//
// A file:// bucket writes each object to a temporary file in os.TempDir
// and renames it into place: its folder must be on the same file system
// as os.TempDir (set TMPDIR), or every Put fails. Do not add no_tmp_dir
// to its URL: the temporary files are then made beside the objects, and
// List yields them as keys while a Put is in progress. For a local or
// network folder, [idsync.FolderArtifacts] is the better choice (its
// temporary files are hidden, and it syncs each file before renaming it);
// file:// is there for symmetry and tests. fileblob also refuses keys
// ending in ".attrs" (the name of its metadata files); idsync writes none.
package blobartifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"syscall"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file://
	_ "gocloud.dev/blob/memblob"  // mem://
	"gocloud.dev/gcerrors"

	idsync "github.com/idsync/idsync/sync"

	"github.com/idsync/idsync/internal/ctxio"
)

// Bucket is an [idsync.Artifacts] in a Go CDK blob bucket. It is safe for
// concurrent use.
type Bucket struct {
	b *blob.Bucket
}

var _ idsync.Artifacts = (*Bucket)(nil)

// Open opens the bucket of url with blob.OpenBucket ("mem://",
// "file:///path?create_dir=1", or the URL of any driver the program
// imports). Close closes it.
//
// A file:// URL without a metadata parameter gets metadata=skip: idsync
// keeps no metadata, and fileblob rewrites its metadata files in place,
// so that a Get racing a Put of the same key could fail.
func Open(ctx context.Context, urlstr string) (*Bucket, error) {
	if u, err := url.Parse(urlstr); err == nil && u.Scheme == "file" && !u.Query().Has("metadata") {
		q := u.Query()
		q.Set("metadata", "skip")
		u.RawQuery = q.Encode()
		urlstr = u.String()
	}
	b, err := blob.OpenBucket(ctx, urlstr)
	if err != nil {
		return nil, fmt.Errorf("blobartifacts: open %s: %w", urlstr, err)
	}
	return New(b), nil
}

// New returns the artifacts stored in b. Close closes b.
func New(b *blob.Bucket) *Bucket {
	return &Bucket{b: b}
}

// Bucket returns the underlying blob bucket.
func (b *Bucket) Bucket() *blob.Bucket { return b.b }

// Close closes the underlying blob bucket.
func (b *Bucket) Close() error {
	if err := b.b.Close(); err != nil {
		return fmt.Errorf("blobartifacts: close: %w", err)
	}
	return nil
}

// Put implements [idsync.Artifacts.Put].
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader) (err error) {
	if err := idsync.CheckArtifactKey(key); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("blobartifacts: put %s: %w", key, err)
		}
	}()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A content type given creates the driver's writer at once: without
	// one, blob.Writer buffers the first 512 bytes to sniff it.
	w, err := b.b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, ctxio.Reader(ctx, r)); err != nil {
		cancel() // aborts the write: Close then stores nothing
		_ = w.Close()
		return err
	}
	if err := ctx.Err(); err != nil {
		cancel()
		_ = w.Close()
		return err
	}
	return w.Close()
}

// Get implements [idsync.Artifacts.Get].
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := idsync.CheckArtifactKey(key); err != nil {
		return nil, err
	}
	r, err := b.b.NewReader(ctx, key, nil)
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("blobartifacts: get %s: %w (%w)", key, idsync.ErrArtifactNotFound, err)
		}
		return nil, fmt.Errorf("blobartifacts: get %s: %w", key, err)
	}
	return r, nil
}

// Delete implements [idsync.Artifacts.Delete].
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := idsync.CheckArtifactKey(key); err != nil {
		return err
	}
	err := b.b.Delete(ctx, key)
	if err == nil || notFound(err) {
		return nil
	}
	// A key that names no object but begins others ("a" when "a/b" is
	// stored) is a folder to fileblob, which fails to remove it.
	if ok, xerr := b.b.Exists(ctx, key); xerr == nil && !ok || notFound(xerr) {
		return nil
	}
	return fmt.Errorf("blobartifacts: delete %s: %w", key, err)
}

// notFound reports whether err says a key names no object: NotFound, or,
// from fileblob, a key one of whose folders is a file ("a/b" when "a" is
// stored).
func notFound(err error) bool {
	return gcerrors.Code(err) == gcerrors.NotFound || errors.Is(err, syscall.ENOTDIR)
}

// List implements [idsync.Artifacts.List]. It yields every key of the
// bucket under prefix, also keys that idsync would not write.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if err := idsync.CheckArtifactPrefix(prefix); err != nil {
			yield("", err)
			return
		}
		it := b.b.List(&blob.ListOptions{Prefix: prefix})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield("", fmt.Errorf("blobartifacts: list %q: %w", prefix, err))
				return
			}
			if obj.IsDir {
				continue
			}
			if !yield(obj.Key, nil) {
				return
			}
		}
	}
}
