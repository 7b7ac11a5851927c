package sync_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/blobartifacts"
)

// artifactBackends are the Artifacts the folder helpers are tested on.
var artifactBackends = []struct {
	name string
	open func(t *testing.T) idsync.Artifacts
}{
	{"Folder", func(t *testing.T) idsync.Artifacts { return idsync.NewFolderArtifacts(t.TempDir()) }},
	{"Mem", func(t *testing.T) idsync.Artifacts {
		b, err := blobartifacts.Open(t.Context(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}},
}

// hooked counts the Puts of an Artifacts and calls hooks before Get and
// Put. Its methods are the four of the interface, nothing more.
type hooked struct {
	a     idsync.Artifacts
	puts  atomic.Int64
	onGet func(key string)
	onPut func(key string)
}

func (h *hooked) Put(ctx context.Context, key string, r io.Reader) error {
	h.puts.Add(1)
	if h.onPut != nil {
		h.onPut(key)
	}
	return h.a.Put(ctx, key, r)
}

func (h *hooked) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if h.onGet != nil {
		h.onGet(key)
	}
	return h.a.Get(ctx, key)
}

func (h *hooked) Delete(ctx context.Context, key string) error { return h.a.Delete(ctx, key) }

func (h *hooked) List(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return h.a.List(ctx, prefix)
}

// writeFiles makes dir with the files of files.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readFiles returns the files of dir, failing on anything else in it.
func readFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			t.Fatalf("%s in %s is not a regular file", e.Name(), dir)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func keys(t *testing.T, a idsync.Artifacts, prefix string) []string {
	t.Helper()
	var ks []string
	for k, err := range a.List(t.Context(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sampleFiles() map[string][]byte {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	return map[string][]byte{
		"changeset.json":   []byte(`{"hash":"x"}`),
		"HR_User.prepared": big,
		"HR_Org.prepared":  []byte("org\n"),
		"empty":            nil,
		"copy-of-org":      []byte("org\n"), // same content: one object
		".hidden":          []byte("dot files are files too"),
	}
}

// TestArtifactDirRoundTrip checks that GetDir gives back the files PutDir
// stored, that the same files give the same ref, and that a PutDir of
// files already stored stores only its manifest.
func TestArtifactDirRoundTrip(t *testing.T) {
	for _, be := range artifactBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := t.Context()
			h := &hooked{a: be.open(t)}
			src := filepath.Join(t.TempDir(), "src")
			files := sampleFiles()
			writeFiles(t, src, files)
			ref, err := idsync.PutDir(ctx, h, "runs", src)
			if err != nil {
				t.Fatal(err)
			}
			if n := h.puts.Load(); n != 6 { // 5 distinct contents and the manifest
				t.Errorf("PutDir made %d Puts, want 6", n)
			}
			if got := keys(t, h, "runs/objects/"); len(got) != 5 {
				t.Errorf("objects: %q, want 5", got)
			}
			if got := keys(t, h, "runs/manifests/"); !slices.Equal(got, []string{"runs/manifests/" + ref}) {
				t.Errorf("manifests: %q, want the one of %s", got, ref)
			}
			dst := filepath.Join(t.TempDir(), "a", "b", "dst")
			if err := idsync.GetDir(ctx, h, "runs", ref, dst); err != nil {
				t.Fatal(err)
			}
			if got := readFiles(t, dst); !maps.EqualFunc(got, files, bytes.Equal) {
				t.Errorf("GetDir wrote %v files, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(files)))
			}

			// The same files, again and from another folder: the same
			// ref, and only the manifest is put.
			h.puts.Store(0)
			again := filepath.Join(t.TempDir(), "again")
			writeFiles(t, again, files)
			ref2, err := idsync.PutDir(ctx, h, "runs", again)
			if err != nil {
				t.Fatal(err)
			}
			if ref2 != ref {
				t.Errorf("the same files gave ref %s, then %s", ref, ref2)
			}
			if n := h.puts.Load(); n != 1 {
				t.Errorf("PutDir of stored files made %d Puts, want 1 (the manifest)", n)
			}

			// Another prefix shares nothing; "" is the root.
			ref3, err := idsync.PutDir(ctx, h, "", src)
			if err != nil || ref3 != ref {
				t.Fatalf("PutDir under the root: %s, %v; want %s", ref3, err, ref)
			}
			if err := idsync.GetDir(ctx, h, "", ref, filepath.Join(t.TempDir(), "root")); err != nil {
				t.Fatal(err)
			}
			if err := idsync.GetDir(ctx, h, "other", ref, filepath.Join(t.TempDir(), "other")); !errors.Is(err, idsync.ErrArtifactNotFound) {
				t.Errorf("GetDir under another prefix: %v, want ErrArtifactNotFound", err)
			}

			// An empty folder is a folder.
			empty := filepath.Join(t.TempDir(), "empty")
			writeFiles(t, empty, nil)
			eref, err := idsync.PutDir(ctx, h, "runs", empty)
			if err != nil {
				t.Fatal(err)
			}
			edst := filepath.Join(t.TempDir(), "edst")
			if err := idsync.GetDir(ctx, h, "runs", eref, edst); err != nil {
				t.Fatal(err)
			}
			if got := readFiles(t, edst); len(got) != 0 {
				t.Errorf("GetDir of an empty folder wrote %v", got)
			}
		})
	}
}

// TestArtifactGetDirCorrupt checks that GetDir refuses a folder whose
// manifest or files do not match their hashes or sizes, or are missing,
// with the sentinel that says so, and writes nothing under the final
// names.
func TestArtifactGetDirCorrupt(t *testing.T) {
	for _, be := range artifactBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := t.Context()
			a := be.open(t)
			src := filepath.Join(t.TempDir(), "src")
			files := sampleFiles()
			writeFiles(t, src, files)
			ref, err := idsync.PutDir(ctx, a, "p", src)
			if err != nil {
				t.Fatal(err)
			}
			bigKey := ""
			for _, k := range keys(t, a, "p/objects/") {
				if r, err := a.Get(ctx, k); err == nil {
					n, _ := io.Copy(io.Discard, r)
					r.Close()
					if n == 1<<20 {
						bigKey = k
					}
				}
			}
			if bigKey == "" {
				t.Fatal("no object of 1 MiB")
			}
			big := files["HR_User.prepared"]
			flipped := bytes.Clone(big)
			flipped[len(flipped)/2] ^= 1
			manifest := "p/manifests/" + ref
			r, err := a.Get(ctx, manifest)
			if err != nil {
				t.Fatal(err)
			}
			mdata, _ := io.ReadAll(r)
			r.Close()
			put := func(key string, data []byte) {
				if err := a.Put(ctx, key, bytes.NewReader(data)); err != nil {
					t.Fatal(err)
				}
			}
			cases := []struct {
				name   string
				break_ func()
				ref    string
				want   []error
			}{
				{"FlippedBit", func() { put(bigKey, flipped) }, ref, []error{idsync.ErrArtifactCorrupt}},
				{"Truncated", func() { put(bigKey, big[:len(big)-1]) }, ref, []error{idsync.ErrArtifactCorrupt}},
				{"Extended", func() { put(bigKey, append(bytes.Clone(big), 'x')) }, ref, []error{idsync.ErrArtifactCorrupt}},
				{"MissingObject", func() { a.Delete(ctx, bigKey) }, ref, []error{idsync.ErrArtifactCorrupt, idsync.ErrArtifactNotFound}},
				{"ManifestChanged", func() { put(manifest, bytes.Replace(mdata, []byte(`"size":4`), []byte(`"size":5`), 1)) }, ref, []error{idsync.ErrArtifactCorrupt}},
				{"ManifestNotJSON", func() {
					// a manifest whose hash matches but that is not one
					junk := []byte("not a manifest")
					put("p/manifests/"+sha256hex(junk), junk)
				}, sha256hex([]byte("not a manifest")), []error{idsync.ErrArtifactCorrupt}},
				{"ManifestEscapes", func() {
					bad := []byte(`{"format":"idsync.dir/1","files":[{"name":"../x","size":4,"sha256":"` + sha256hex([]byte("org\n")) + `"}]}`)
					put("p/manifests/"+sha256hex(bad), bad)
				}, sha256hex([]byte(`{"format":"idsync.dir/1","files":[{"name":"../x","size":4,"sha256":"` + sha256hex([]byte("org\n")) + `"}]}`)), []error{idsync.ErrArtifactCorrupt}},
				{"MissingManifest", func() { a.Delete(ctx, manifest) }, ref, []error{idsync.ErrArtifactNotFound}},
				{"InvalidRef", func() {}, "../" + ref, []error{idsync.ErrInvalidArtifactKey}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					put(bigKey, big)
					put(manifest, mdata)
					c.break_()
					parent := t.TempDir()
					dst := filepath.Join(parent, "dst")
					err := idsync.GetDir(ctx, a, "p", c.ref, dst)
					for _, want := range c.want {
						if !errors.Is(err, want) {
							t.Errorf("GetDir: %v, want an error matching %v", err, want)
						}
					}
					if entries, _ := os.ReadDir(parent); len(entries) != 0 {
						t.Errorf("a failed GetDir left %v beside its folder", entries)
					}
					if !strings.HasPrefix(fmt.Sprint(err), "idsync: ") {
						t.Errorf("error %q is not prefixed idsync:", err)
					}
				})
			}
		})
	}
}

// TestArtifactGetDirInto checks that GetDir writes into a new or empty
// folder, and refuses one that holds anything, leaving it as it was.
func TestArtifactGetDirInto(t *testing.T) {
	ctx := t.Context()
	a := idsync.NewFolderArtifacts(t.TempDir())
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string][]byte{"f": []byte("new")})
	ref, err := idsync.PutDir(ctx, a, "p", src)
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(t.TempDir(), "full")
	writeFiles(t, full, map[string][]byte{"f": []byte("old"), "g": []byte("other")})
	if err := idsync.GetDir(ctx, a, "p", ref, full); err == nil {
		t.Error("GetDir into a folder holding files succeeded")
	}
	if got := readFiles(t, full); string(got["f"]) != "old" || len(got) != 2 {
		t.Errorf("GetDir into a folder holding files changed it: %q", got)
	}
	file := filepath.Join(t.TempDir(), "file")
	writeFiles(t, filepath.Dir(file), map[string][]byte{"file": []byte("a file")})
	if err := idsync.GetDir(ctx, a, "p", ref, file); err == nil {
		t.Error("GetDir onto a file succeeded")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	writeFiles(t, empty, nil)
	if err := idsync.GetDir(ctx, a, "p", ref, empty); err != nil {
		t.Fatal(err)
	}
	if got := readFiles(t, empty); string(got["f"]) != "new" || len(got) != 1 {
		t.Errorf("GetDir into an empty folder wrote %q", got)
	}
}

// TestArtifactPutDirRefuses checks that PutDir refuses a folder holding a
// folder or a symbolic link, and a file that changes while it reads it,
// and then leaves no manifest.
func TestArtifactPutDirRefuses(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		name string
		make func(dir string) error
	}{
		{"Subfolder", func(dir string) error { return os.Mkdir(filepath.Join(dir, "sub"), 0o755) }},
		{"Symlink", func(dir string) error { return os.Symlink("f", filepath.Join(dir, "link")) }},
		{"Backslash", func(dir string) error { return os.WriteFile(filepath.Join(dir, `a\b`), nil, 0o644) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := idsync.NewFolderArtifacts(t.TempDir())
			dir := filepath.Join(t.TempDir(), "src")
			writeFiles(t, dir, map[string][]byte{"f": []byte("f")})
			if err := c.make(dir); err != nil {
				if runtime.GOOS == "windows" {
					t.Skip(err) // no symbolic link, no backslash in a name
				}
				t.Fatal(err)
			}
			if ref, err := idsync.PutDir(ctx, a, "p", dir); err == nil {
				t.Errorf("PutDir succeeded: %s", ref)
			} else {
				t.Log(err)
			}
			if got := keys(t, a, ""); len(got) != 0 {
				t.Errorf("a refused PutDir stored %q", got)
			}
		})
	}
	t.Run("FileChanged", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "src")
		writeFiles(t, dir, map[string][]byte{"a": []byte("aaaa"), "b": []byte("bbbb")})
		a := &hooked{a: idsync.NewFolderArtifacts(t.TempDir())}
		a.onPut = func(key string) {
			if strings.Contains(key, "/objects/") {
				// between PutDir's hashing and its storing
				os.WriteFile(filepath.Join(dir, "b"), []byte("BBBB"), 0o644)
				os.WriteFile(filepath.Join(dir, "a"), []byte("aaaa+"), 0o644)
			}
		}
		ref, err := idsync.PutDir(ctx, a, "p", dir)
		if err == nil || !strings.Contains(err.Error(), "changed while PutDir read it") {
			t.Errorf("PutDir of files that change: %q, %v; want an error saying a file changed", ref, err)
		}
		if got := keys(t, a, ""); len(got) != 0 {
			t.Errorf("PutDir of a file that changed stored %q", got)
		}
	})
}

func sha256hex(b []byte) string {
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// TestArtifactPruneDirs checks that PruneDirs deletes the manifests not
// kept and the objects no kept manifest lists, keeps the objects kept
// manifests share with deleted ones, leaves keys PutDir does not write,
// deletes nothing when a kept ref is missing, and that a PutDir of pruned
// files stores them again.
func TestArtifactPruneDirs(t *testing.T) {
	for _, be := range artifactBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := t.Context()
			a := be.open(t)
			mk := func(files map[string][]byte) string {
				dir := filepath.Join(t.TempDir(), "src")
				writeFiles(t, dir, files)
				ref, err := idsync.PutDir(ctx, a, "p", dir)
				if err != nil {
					t.Fatal(err)
				}
				return ref
			}
			r1 := mk(map[string][]byte{"a": []byte("A"), "b": []byte("B")})
			r2 := mk(map[string][]byte{"b": []byte("B"), "c": []byte("C")})
			r3 := mk(map[string][]byte{"d": []byte("D")})
			if err := a.Put(ctx, "p/objects/readme", strings.NewReader("not PutDir's")); err != nil {
				t.Fatal(err)
			}
			if err := a.Put(ctx, "q/objects/00/"+sha256hex([]byte("other prefix")), strings.NewReader("other prefix")); err != nil {
				t.Fatal(err)
			}
			before := keys(t, a, "")

			missing := sha256hex([]byte("no such manifest"))
			if n, err := idsync.PruneDirs(ctx, a, "p", []string{r2, missing}); !errors.Is(err, idsync.ErrArtifactNotFound) || n != 0 {
				t.Errorf("PruneDirs keeping a missing ref: %d, %v; want 0 and ErrArtifactNotFound", n, err)
			}
			if got := keys(t, a, ""); !slices.Equal(got, before) {
				t.Errorf("a failed PruneDirs deleted %q", slices.DeleteFunc(before, func(k string) bool { return slices.Contains(got, k) }))
			}

			n, err := idsync.PruneDirs(ctx, a, "p", []string{r2})
			if err != nil {
				t.Fatal(err)
			}
			if n != 4 { // manifests r1, r3; objects A, D
				t.Errorf("PruneDirs deleted %d, want 4", n)
			}
			if err := idsync.GetDir(ctx, a, "p", r2, filepath.Join(t.TempDir(), "r2")); err != nil {
				t.Errorf("a kept ref: %v", err)
			}
			for _, r := range []string{r1, r3} {
				if err := idsync.GetDir(ctx, a, "p", r, filepath.Join(t.TempDir(), "r")); !errors.Is(err, idsync.ErrArtifactNotFound) {
					t.Errorf("a pruned ref: %v, want ErrArtifactNotFound", err)
				}
			}
			got := keys(t, a, "")
			for _, k := range []string{"p/objects/readme", "q/objects/00/" + sha256hex([]byte("other prefix"))} {
				if !slices.Contains(got, k) {
					t.Errorf("PruneDirs deleted %s", k)
				}
			}
			if len(got) != len(before)-4 {
				t.Errorf("after PruneDirs: %q", got)
			}

			// Pruned files stored again come back whole.
			if r := mk(map[string][]byte{"a": []byte("A"), "b": []byte("B")}); r != r1 {
				t.Errorf("the same files gave ref %s, then %s", r1, r)
			}
			if err := idsync.GetDir(ctx, a, "p", r1, filepath.Join(t.TempDir(), "r1")); err != nil {
				t.Errorf("a ref stored again after PruneDirs: %v", err)
			}
			if n, err := idsync.PruneDirs(ctx, a, "p", nil); err != nil || n != 5 {
				t.Errorf("PruneDirs keeping nothing: %d, %v; want 5 (manifests r1, r2; objects A, B, C)", n, err)
			}
			if got := keys(t, a, "p/"); !slices.Equal(got, []string{"p/objects/readme"}) {
				t.Errorf("after PruneDirs keeping nothing: %q", got)
			}
		})
	}
}

// TestArtifactPruneRacingPutDir shows why PruneDirs must not run while a
// PutDir of a ref it does not keep is in progress: the PutDir finds an
// object present and skips it, PruneDirs deletes it, and the ref names a
// broken folder, which GetDir refuses (ErrArtifactCorrupt), never a
// partial one. Run under the documented lock, the same two calls are
// safe.
func TestArtifactPruneRacingPutDir(t *testing.T) {
	ctx := t.Context()
	for _, locked := range []bool{false, true} {
		t.Run(fmt.Sprintf("locked=%v", locked), func(t *testing.T) {
			a := &hooked{a: idsync.NewFolderArtifacts(t.TempDir())}
			old := filepath.Join(t.TempDir(), "old")
			writeFiles(t, old, map[string][]byte{"shared": []byte("shared content")})
			if _, err := idsync.PutDir(ctx, a, "p", old); err != nil {
				t.Fatal(err)
			}
			nw := filepath.Join(t.TempDir(), "new")
			writeFiles(t, nw, map[string][]byte{"shared": []byte("shared content"), "own": []byte("own")})
			var pruned bool
			a.onGet = func(key string) {
				if !locked && !pruned && strings.HasSuffix(key, sha256hex([]byte("shared content"))) {
					// between PutDir's presence check and its manifest,
					// keeping what the state records: not the new ref
					if _, err := idsync.PruneDirs(ctx, a, "p", nil); err != nil {
						t.Fatal(err)
					}
					pruned = true
				}
			}
			ref, err := idsync.PutDir(ctx, a, "p", nw)
			if err != nil {
				t.Fatal(err)
			}
			if locked {
				// Serialized: the PutDir ends, the state records its
				// ref, then PruneDirs keeps it.
				if _, err := idsync.PruneDirs(ctx, a, "p", []string{ref}); err != nil {
					t.Fatal(err)
				}
			}
			err = idsync.GetDir(ctx, a, "p", ref, filepath.Join(t.TempDir(), "dst"))
			if locked && err != nil {
				t.Errorf("GetDir after PutDir and PruneDirs serialized: %v", err)
			}
			if !locked && !(errors.Is(err, idsync.ErrArtifactCorrupt) && errors.Is(err, idsync.ErrArtifactNotFound)) {
				t.Errorf("GetDir of a ref whose object a racing PruneDirs deleted: %v, want ErrArtifactCorrupt and ErrArtifactNotFound", err)
			}
		})
	}
}

// A run's folder stored in the artifacts, and got back elsewhere (on
// another instance sharing the bucket, say), verified by hash.
func ExamplePutDir() {
	ctx := context.Background()
	work, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(work)
	src := filepath.Join(work, "changes")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "changeset.json"), []byte(`{"connector":"HR"}`), 0o644)
	os.WriteFile(filepath.Join(src, "HR_User"), []byte("insert 1\ninsert 2\n"), 0o644)

	a := idsync.NewFolderArtifacts(filepath.Join(work, "artifacts")) // or a blobartifacts.Bucket
	ref, err := idsync.PutDir(ctx, a, "changesets", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ref:", ref[:12])

	dst := filepath.Join(work, "reviewed")
	if err := idsync.GetDir(ctx, a, "changesets", ref, dst); err != nil {
		fmt.Println(err)
		return
	}
	entries, _ := os.ReadDir(dst)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dst, e.Name()))
		fmt.Printf("%s: %q\n", e.Name(), b)
	}
	for key, err := range a.List(ctx, "changesets/") {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(key[:min(len(key), 36)] + "…")
	}
	// Output:
	// ref: 771c50e329b7
	// HR_User: "insert 1\ninsert 2\n"
	// changeset.json: "{\"connector\":\"HR\"}"
	// changesets/manifests/771c50e329b7630…
	// changesets/objects/49/496f870f6883a1…
	// changesets/objects/8c/8c88249376495c…
}
