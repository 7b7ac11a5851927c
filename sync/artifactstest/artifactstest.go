// Package artifactstest is the conformance kit of [idsync.Artifacts]:
// every implementation runs it, as every gocloud.dev/blob driver runs
// drivertest. It checks each clause of the contract in a subtest named
// after it, each on new, empty artifacts:
//
//   - RoundTrip: objects of various keys (nested, unicode, long) and
//     contents (empty, every byte value) come back as they were put,
//     also when read twice.
//   - LargeObjectStreams: a 48 MiB object, put from a reader that makes
//     it 32 KiB at a time, comes back whole (same size and SHA-256) when
//     read through a small buffer. The kit does not measure memory.
//   - MissingKeyNotFound: Get of a key never stored, deleted, or that only
//     begins other keys ("a" when "a/b" is stored) returns an error
//     matching [idsync.ErrArtifactNotFound].
//   - OverwriteReplaces: a Put of a stored key replaces the whole object
//     (a shorter one leaves no byte of the longer), and the key is listed
//     once.
//   - PutIsAtomic: a Put whose reader fails midway (FailingReader), or
//     whose context is cancelled while it reads (CancelledMidPut) or
//     before it (CancelledBefore), fails with an error matching the
//     reader's error or context.Canceled and leaves the key as it was:
//     absent, or the previous object whole; while a Put is in progress
//     (InProgress), Get and List do not see its object.
//   - ConcurrentPuts: Puts of distinct keys and of one key, from several
//     goroutines, with readers of that key meanwhile: every reader and
//     the final state see one whole object that some Put wrote.
//   - ListByPrefix: List yields exactly the keys that begin with its
//     prefix (as a string: "a" yields "a/b" and "ab"), each once, none of
//     an empty or unknown prefix; a consumer may stop early; an invalid
//     prefix ("../") yields an error matching
//     [idsync.ErrInvalidArtifactKey].
//   - DeleteIsIdempotent: Delete removes the object and leaves its
//     neighbours; deleting a missing key, or one that only begins other
//     keys, is not an error; the key can be put again.
//   - KeysAreValidated: Put, Get and Delete refuse every key that
//     [idsync.CheckArtifactKey] refuses ("../x", "/x", "a//b", ".tmp",
//     a backslash, ...) with an error matching
//     [idsync.ErrInvalidArtifactKey], without reading Put's reader or
//     storing anything.
//
// An implementation runs the kit from a test of its own package:
//
//	func TestMyArtifacts(t *testing.T) {
//		artifactstest.Run(t, func(t *testing.T) idsync.Artifacts {
//			return myartifacts.New(t.TempDir()) // new and empty
//		})
//	}
//
// Run it with -race: ConcurrentPuts is concurrent.
package artifactstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	idsync "github.com/idsync/idsync/sync"
)

// clauses are the kit's clauses, in the order Run runs them.
var clauses = []struct {
	name string
	fn   func(*testing.T, func(*testing.T) idsync.Artifacts)
}{
	{"RoundTrip", testRoundTrip},
	{"LargeObjectStreams", testLargeObjectStreams},
	{"MissingKeyNotFound", testMissingKeyNotFound},
	{"OverwriteReplaces", testOverwriteReplaces},
	{"PutIsAtomic", testPutIsAtomic},
	{"ConcurrentPuts", testConcurrentPuts},
	{"ListByPrefix", testListByPrefix},
	{"DeleteIsIdempotent", testDeleteIsIdempotent},
	{"KeysAreValidated", testKeysAreValidated},
}

// Clauses returns the names of the kit's clauses, in the order Run runs
// them: each is the name of a subtest, and of an item of the package doc.
func Clauses() []string {
	names := make([]string, len(clauses))
	for i, c := range clauses {
		names[i] = c.name
	}
	return names
}

// Run runs every clause of the Artifacts contract as a subtest of t, each
// on new, empty artifacts that newArtifacts returns (it may register
// cleanups with t).
func Run(t *testing.T, newArtifacts func(t *testing.T) idsync.Artifacts) {
	t.Helper()
	for _, c := range clauses {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newArtifacts) })
	}
}

// LargeSize is the size of the object of LargeObjectStreams.
const LargeSize = 48 << 20

func put(t *testing.T, a idsync.Artifacts, key string, data []byte) {
	t.Helper()
	if err := a.Put(t.Context(), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// get returns the object of key, or nil and the error of Get or of
// reading.
func get(t *testing.T, a idsync.Artifacts, key string) ([]byte, error) {
	t.Helper()
	r, err := a.Get(t.Context(), key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}

func wantObject(t *testing.T, a idsync.Artifacts, key string, want []byte, when string) {
	t.Helper()
	got, err := get(t, a, key)
	switch {
	case err != nil:
		t.Errorf("%s: Get(%q): %v, want the object of %d bytes", when, key, err, len(want))
	case !bytes.Equal(got, want):
		t.Errorf("%s: Get(%q) returned %d bytes (%.20q...), want %d bytes (%.20q...)", when, key, len(got), got, len(want), want)
	}
}

func wantNotFound(t *testing.T, a idsync.Artifacts, key, when string) {
	t.Helper()
	got, err := get(t, a, key)
	if !errors.Is(err, idsync.ErrArtifactNotFound) {
		if err == nil {
			t.Errorf("%s: Get(%q) returned an object of %d bytes (%.20q), want an error matching idsync.ErrArtifactNotFound", when, key, len(got), got)
		} else {
			t.Errorf("%s: Get(%q): %v, want an error matching idsync.ErrArtifactNotFound", when, key, err)
		}
	}
}

// list returns the keys List yields, sorted, failing t on an error.
func list(t *testing.T, a idsync.Artifacts, prefix string) []string {
	t.Helper()
	var keys []string
	for k, err := range a.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func wantList(t *testing.T, a idsync.Artifacts, prefix string, want []string, when string) {
	t.Helper()
	got := list(t, a, prefix)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: List(%q) yields %q, want %q (each key once)", when, prefix, got, want)
	}
}

func allBytes() []byte {
	b := make([]byte, 0, 512)
	for i := range 512 {
		b = append(b, byte(i))
	}
	return b
}

func testRoundTrip(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	long := strings.Repeat("l", 200)
	objects := []struct {
		key  string
		data []byte
	}{
		{"a", []byte("hello")},
		{"b/c/d.json", []byte(`{"x":1}` + "\n")},
		{"dossiers/é漢字/x y.csv", []byte("id;nom\r\n1;Zoé\r\n")},
		{"empty", nil},
		{"bin/all", allBytes()},
		{"a.b/a..b/-_~", []byte("dots")},
		{long + "/" + long + "/" + long + "/" + long + "/" + long[:100], []byte("long key")},
	}
	for _, o := range objects {
		put(t, a, o.key, o.data)
	}
	for _, o := range objects {
		wantObject(t, a, o.key, o.data, "after Put")
		wantObject(t, a, o.key, o.data, "read again")
	}
	var keys []string
	for _, o := range objects {
		keys = append(keys, o.key)
	}
	wantList(t, a, "", keys, "after the Puts")
}

// genReader makes n bytes, 32 KiB at a time, a pattern that differs in
// every block.
type genReader struct {
	n, off int64
	block  []byte
}

func newGenReader(n int64) *genReader {
	block := make([]byte, 32<<10)
	for i := range block {
		block[i] = byte(i*7 + i>>8)
	}
	return &genReader{n: n, block: block}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), int64(len(g.block)), g.n-g.off)]
	n := copy(p, g.block)
	if n >= 8 {
		// the block's number, so that a block repeated or dropped shows
		for i := range 8 {
			p[i] = byte((g.off / int64(len(g.block))) >> (8 * i))
		}
	}
	g.off += int64(n)
	return n, nil
}

func testLargeObjectStreams(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	want := sha256.New()
	if _, err := io.Copy(want, newGenReader(LargeSize)); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(t.Context(), "large/object", newGenReader(LargeSize)); err != nil {
		t.Fatalf("Put of %d bytes: %v", LargeSize, err)
	}
	r, err := a.Get(t.Context(), "large/object")
	if err != nil {
		t.Fatalf("Get of the large object: %v", err)
	}
	defer r.Close()
	got := sha256.New()
	n, err := io.CopyBuffer(struct{ io.Writer }{got}, struct{ io.Reader }{r}, make([]byte, 4096))
	if err != nil {
		t.Fatalf("reading the large object after %d bytes: %v", n, err)
	}
	if n != LargeSize || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Errorf("the large object came back as %d bytes with SHA-256 %x, want %d bytes with SHA-256 %x", n, got.Sum(nil), LargeSize, want.Sum(nil))
	}
}

func testMissingKeyNotFound(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	wantNotFound(t, a, "never/stored", "empty artifacts")
	put(t, a, "dir/sub/x", []byte("x"))
	wantNotFound(t, a, "dir", "with dir/sub/x stored")
	wantNotFound(t, a, "dir/sub", "with dir/sub/x stored")
	wantNotFound(t, a, "dir/sub/x/y", "with dir/sub/x stored")
	wantNotFound(t, a, "dir/sub/xx", "with dir/sub/x stored")
	if err := a.Delete(t.Context(), "dir/sub/x"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, a, "dir/sub/x", "after Delete")
}

func testOverwriteReplaces(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	put(t, a, "k/v", bytes.Repeat([]byte("long "), 10000))
	put(t, a, "k/v", []byte("short"))
	wantObject(t, a, "k/v", []byte("short"), "after a shorter Put replaced a longer one")
	put(t, a, "k/v", nil)
	wantObject(t, a, "k/v", nil, "after an empty Put replaced one")
	wantList(t, a, "", []string{"k/v"}, "after three Puts of one key")
}

var errInjected = errors.New("artifactstest: injected reader failure")

// failingReader returns n bytes of x, then err (and, with after, calls
// it first).
type failingReader struct {
	n     int
	err   error
	after func()
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.after != nil {
			f.after()
			f.after = nil
		}
		if f.err != nil {
			return 0, f.err
		}
		// keep giving data: the implementation must see its context
		p = p[:min(len(p), 4096)]
		for i := range p {
			p[i] = 'y'
		}
		return len(p), nil
	}
	p = p[:min(len(p), f.n)]
	for i := range p {
		p[i] = 'x'
	}
	f.n -= len(p)
	return len(p), nil
}

func testPutIsAtomic(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	old := []byte("the previous object, whole")
	// each case runs on a fresh key and on a key holding old
	cases := []struct {
		name string
		put  func(t *testing.T, a idsync.Artifacts, key string) error
		want error
	}{
		{"FailingReader", func(t *testing.T, a idsync.Artifacts, key string) error {
			return a.Put(t.Context(), key, &failingReader{n: 300 << 10, err: errInjected})
		}, errInjected},
		{"CancelledMidPut", func(t *testing.T, a idsync.Artifacts, key string) error {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- a.Put(ctx, key, &failingReader{n: 300 << 10, after: cancel}) }()
			select {
			case err := <-errc:
				return err
			case <-time.After(time.Minute):
				t.Fatal("Put did not return within a minute of its context's cancellation, reading a reader that never ends")
				return nil
			}
		}, context.Canceled},
		{"CancelledBefore", func(t *testing.T, a idsync.Artifacts, key string) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return a.Put(ctx, key, bytes.NewReader([]byte("never stored")))
		}, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newArtifacts(t)
			put(t, a, "keep/old", old)
			err := c.put(t, a, "atomic/new")
			if !errors.Is(err, c.want) {
				t.Errorf("Put of a new key: got %v, want an error matching %v", err, c.want)
			}
			wantNotFound(t, a, "atomic/new", "after a failed Put of a new key")
			err = c.put(t, a, "keep/old")
			if !errors.Is(err, c.want) {
				t.Errorf("Put of a stored key: got %v, want an error matching %v", err, c.want)
			}
			wantObject(t, a, "keep/old", old, "after a failed Put of a stored key")
			wantList(t, a, "", []string{"keep/old"}, "after failed Puts")
		})
	}
	t.Run("InProgress", func(t *testing.T) {
		a := newArtifacts(t)
		put(t, a, "keep/old", old)
		stored := []string{"keep/old"}
		for _, key := range []string{"progress/new", "keep/old"} {
			release := make(chan struct{})
			reading := make(chan struct{})
			errc := make(chan error, 1)
			go func() {
				errc <- a.Put(t.Context(), key, io.MultiReader(
					bytes.NewReader(bytes.Repeat([]byte("p"), 300<<10)),
					&blockingReader{reading: reading, release: release},
					bytes.NewReader([]byte("end"))))
			}()
			select {
			case <-reading:
			case err := <-errc:
				t.Fatalf("Put returned %v before reading to the end of its reader", err)
			}
			if key == "keep/old" {
				wantObject(t, a, key, old, "while a Put replacing it is in progress")
			} else {
				wantNotFound(t, a, key, "while its Put is in progress")
			}
			wantList(t, a, "", stored, "while a Put is in progress")
			close(release)
			if err := <-errc; err != nil {
				t.Fatalf("Put: %v", err)
			}
			want := append(bytes.Repeat([]byte("p"), 300<<10), "end"...)
			wantObject(t, a, key, want, "after the Put returned")
			if key != "keep/old" {
				stored = append(stored, key)
			}
		}
	})
}

// blockingReader closes reading when first read, then waits for release
// before returning io.EOF.
type blockingReader struct {
	reading, release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if b.reading != nil {
		close(b.reading)
		b.reading = nil
	}
	<-b.release
	return 0, io.EOF
}

func testConcurrentPuts(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	const writers = 6
	// value i of the shared key: 64 KiB × (i+1) of byte 'a'+i
	value := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, (64<<10)*(i+1)) }
	whole := func(b []byte) bool {
		if len(b) == 0 || len(b)%(64<<10) != 0 {
			return false
		}
		i := len(b)/(64<<10) - 1
		return i < writers && bytes.Equal(b, value(i))
	}
	put(t, a, "shared/key", value(0))
	var wg gosync.WaitGroup
	errs := make(chan error, 4*writers)
	for i := range writers {
		wg.Go(func() {
			if err := a.Put(t.Context(), "shared/key", bytes.NewReader(value(i))); err != nil {
				errs <- fmt.Errorf("a Put of the shared key: %w", err)
			}
		})
		wg.Go(func() {
			key := fmt.Sprintf("own/%d", i)
			if err := a.Put(t.Context(), key, bytes.NewReader(value(i))); err != nil {
				errs <- fmt.Errorf("a Put(%q): %w", key, err)
			}
		})
		wg.Go(func() {
			for range 3 {
				r, err := a.Get(t.Context(), "shared/key")
				if err != nil {
					errs <- fmt.Errorf("a Get of the shared key while Puts replace it: %w", err)
					return
				}
				b, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					errs <- fmt.Errorf("reading the shared key while Puts replace it: %w", err)
					return
				}
				if !whole(b) {
					errs <- fmt.Errorf("a reader of the shared key while Puts replace it read %d bytes beginning %.10q: not one whole object that a Put wrote", len(b), b)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := get(t, a, "shared/key")
	if err != nil || !whole(got) {
		t.Errorf("after concurrent Puts of one key, it holds %d bytes beginning %.10q (%v): not one whole object that a Put wrote", len(got), got, err)
	}
	want := []string{"shared/key"}
	for i := range writers {
		wantObject(t, a, fmt.Sprintf("own/%d", i), value(i), "after concurrent Puts of distinct keys")
		want = append(want, fmt.Sprintf("own/%d", i))
	}
	wantList(t, a, "", want, "after concurrent Puts")
}

func testListByPrefix(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	wantList(t, a, "", nil, "empty artifacts")
	wantList(t, a, "a/", nil, "empty artifacts")
	keys := []string{"a/1", "a/2", "a/b/3", "a/b/c/4", "ab/5", "a.b", "b/6", "a-", "bx"}
	for _, k := range keys {
		put(t, a, k, []byte(k))
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", keys},
		{"a/", []string{"a/1", "a/2", "a/b/3", "a/b/c/4"}},
		{"a", []string{"a/1", "a/2", "a/b/3", "a/b/c/4", "ab/5", "a.b", "a-"}},
		{"a/b", []string{"a/b/3", "a/b/c/4"}},
		{"a/b/", []string{"a/b/3", "a/b/c/4"}},
		{"a/b/c/4", []string{"a/b/c/4"}},
		{"b", []string{"b/6", "bx"}},
		{"b/", []string{"b/6"}},
		{"zzz/", nil},
		{"zzz", nil},
		{"a/1/", nil},
		{"a/b/c/4/x", nil},
	}
	for _, c := range cases {
		wantList(t, a, c.prefix, c.want, "with "+strings.Join(keys, ", ")+" stored")
	}
	n := 0
	for _, err := range a.List(t.Context(), "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if n++; n == 2 {
			break
		}
	}
	wantList(t, a, "", keys, "after a List stopped early")
	var err error
	for _, e := range a.List(t.Context(), "../") {
		if e != nil {
			err = e
		}
	}
	if !errors.Is(err, idsync.ErrInvalidArtifactKey) {
		t.Errorf(`List("../"): got %v, want an error matching idsync.ErrInvalidArtifactKey`, err)
	}
}

func testDeleteIsIdempotent(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	put(t, a, "d/x", []byte("x"))
	put(t, a, "d/y", []byte("y"))
	put(t, a, "d/sub/z", []byte("z"))
	for i := range 2 {
		if err := a.Delete(t.Context(), "d/x"); err != nil {
			t.Errorf("Delete #%d of a key: %v", i+1, err)
		}
	}
	wantNotFound(t, a, "d/x", "after Delete")
	for _, key := range []string{"never/stored", "d", "d/sub"} {
		if err := a.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q) of a key naming no object: %v, want nil", key, err)
		}
	}
	if err := a.Delete(t.Context(), "d/sub/z"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	wantObject(t, a, "d/y", []byte("y"), "after Deletes of its neighbours")
	wantList(t, a, "", []string{"d/y"}, "after Deletes")
	put(t, a, "d/sub/z", []byte("z again"))
	put(t, a, "d/x", []byte("x again"))
	wantObject(t, a, "d/sub/z", []byte("z again"), "put again after Delete")
	wantObject(t, a, "d/x", []byte("x again"), "put again after Delete")
}

// BadKeys are keys that every Artifacts refuses.
var BadKeys = []string{
	"", "/", ".", "..", "../x", "a/../../x", "a/..", "/abs", "/abs/x", "a//b", "./a", "a/.", "a/",
	`a\b`, `..\x`, ".hidden", "a/.tmp-1", "a/.x/b", "a\x00b", "a\nb", "\xff\xfe", strings.Repeat("k", 1025),
}

// refusedReader fails the test if it is read.
type refusedReader struct {
	t   *testing.T
	key string
}

func (r refusedReader) Read(p []byte) (int, error) {
	r.t.Errorf("Put(%q) read its reader: an invalid key must be refused first", r.key)
	return 0, io.EOF
}

func testKeysAreValidated(t *testing.T, newArtifacts func(*testing.T) idsync.Artifacts) {
	a := newArtifacts(t)
	put(t, a, "x", []byte("x")) // what "a/../x" would reach
	for _, key := range BadKeys {
		if idsync.CheckArtifactKey(key) == nil {
			t.Fatalf("artifactstest bug: idsync.CheckArtifactKey accepts bad key %q", key)
		}
		if err := a.Put(t.Context(), key, refusedReader{t, key}); !errors.Is(err, idsync.ErrInvalidArtifactKey) {
			t.Errorf("Put(%q): got %v, want an error matching idsync.ErrInvalidArtifactKey", key, err)
		}
		if r, err := a.Get(t.Context(), key); !errors.Is(err, idsync.ErrInvalidArtifactKey) {
			if err == nil {
				r.Close()
			}
			t.Errorf("Get(%q): got %v, want an error matching idsync.ErrInvalidArtifactKey", key, err)
		}
		if err := a.Delete(t.Context(), key); !errors.Is(err, idsync.ErrInvalidArtifactKey) {
			t.Errorf("Delete(%q): got %v, want an error matching idsync.ErrInvalidArtifactKey", key, err)
		}
	}
	wantObject(t, a, "x", []byte("x"), "after Puts and Deletes of invalid keys")
	wantList(t, a, "", []string{"x"}, "after Puts of invalid keys")
}
