package artifactstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	idsync "github.com/idsync/idsync/sync"
)

// naive is an Artifacts written independently of the folder and the blob
// adapter, to check the kit against a plain implementation; bug switches
// one defect on, to check that the kit catches it.
type naive struct {
	bug string
	mu  gosync.Mutex
	m   map[string][]byte
}

func (n *naive) check(key string) error {
	if n.bug == "novalidate" {
		return nil
	}
	return idsync.CheckArtifactKey(key)
}

func (n *naive) Put(ctx context.Context, key string, r io.Reader) error {
	if err := n.check(key); err != nil {
		return err
	}
	var buf bytes.Buffer
	p := make([]byte, 32<<10)
	n.mu.Lock()
	old, had := n.m[key]
	n.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := r.Read(p)
		buf.Write(p[:k])
		if n.bug == "nonatomic" { // visible as it is written, and left so
			n.mu.Lock()
			n.m[key] = bytes.Clone(buf.Bytes())
			n.mu.Unlock()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	data := buf.Bytes()
	switch {
	case n.bug == "appendoverwrite" && had:
		data = append(old, data...)
	case n.bug == "shortlarge" && len(data) > 1<<20:
		data = data[:len(data)-1]
	}
	n.mu.Lock()
	n.m[key] = data
	n.mu.Unlock()
	return nil
}

func (n *naive) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := n.check(key); err != nil {
		return nil, err
	}
	n.mu.Lock()
	data, ok := n.m[key]
	n.mu.Unlock()
	if !ok {
		if n.bug == "notfound" {
			return nil, errors.New("naive: no such key")
		}
		return nil, fmt.Errorf("%w: %s", idsync.ErrArtifactNotFound, key)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (n *naive) Delete(ctx context.Context, key string) error {
	if err := n.check(key); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.m[key]; !ok && n.bug == "deleteerr" {
		return errors.New("naive: no such key")
	}
	delete(n.m, key)
	return nil
}

func (n *naive) List(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if err := idsync.CheckArtifactPrefix(prefix); err != nil {
			yield("", err)
			return
		}
		n.mu.Lock()
		keys := slices.Sorted(maps.Keys(n.m))
		n.mu.Unlock()
		for i, k := range keys {
			if !strings.HasPrefix(k, prefix) && n.bug != "listall" {
				continue
			}
			if !yield(k, nil) {
				return
			}
			if i == 0 && n.bug == "listdup" && !yield(k, nil) {
				return
			}
		}
	}
}

// TestNaiveArtifacts runs the kit on the naive Artifacts, which must pass. With
// ARTIFACTSTEST_NAIVE_BUG set, TestKitCatchesArtifactBugs runs it in a
// subprocess with that bug.
func TestNaiveArtifacts(t *testing.T) {
	bug := os.Getenv("ARTIFACTSTEST_NAIVE_BUG")
	Run(t, func(t *testing.T) idsync.Artifacts { return &naive{bug: bug, m: map[string][]byte{}} })
}

// TestKitCatchesArtifactBugs checks that each defect of an Artifacts
// fails the clause that describes it.
func TestKitCatchesArtifactBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the kit on broken artifacts in subprocesses")
	}
	if os.Getenv("ARTIFACTSTEST_NAIVE_BUG") != "" {
		t.Skip("inside a subprocess")
	}
	cases := []struct{ bug, clause string }{
		{"nonatomic", "PutIsAtomic/FailingReader"},
		{"nonatomic", "PutIsAtomic/CancelledMidPut"},
		{"nonatomic", "PutIsAtomic/InProgress"},
		{"notfound", "MissingKeyNotFound"},
		{"deleteerr", "DeleteIsIdempotent"},
		{"novalidate", "KeysAreValidated"},
		{"listdup", "ListByPrefix"},
		{"listall", "ListByPrefix"},
		{"appendoverwrite", "OverwriteReplaces"},
		{"shortlarge", "LargeObjectStreams"},
	}
	for _, c := range cases {
		t.Run(c.bug+"/"+c.clause, func(t *testing.T) {
			var pattern []string
			for _, part := range strings.Split("TestNaiveArtifacts/"+c.clause, "/") {
				pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
			}
			cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(pattern, "/"), "-test.v", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), "ARTIFACTSTEST_NAIVE_BUG="+c.bug)
			out, err := cmd.CombinedOutput()
			switch {
			case err == nil:
				t.Errorf("the kit missed bug %q: clause %s passed:\n%s", c.bug, c.clause, out)
			case !strings.Contains(string(out), "--- FAIL: TestNaiveArtifacts/"+c.clause):
				t.Errorf("bug %q: clause %s did not fail as expected:\n%s", c.bug, c.clause, out)
			}
		})
	}
}

// TestArtifactsDocListsEveryClause keeps the package doc true: it lists
// every clause that Run runs, in order.
func TestArtifactsDocListsEveryClause(t *testing.T) {
	src, err := os.ReadFile("artifactstest.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, at := string(src), 0
	for _, c := range Clauses() {
		i := strings.Index(doc[at:], "//   - "+c+":")
		if i < 0 {
			t.Errorf("the package doc does not list clause %s (after the ones before it)", c)
			continue
		}
		at += i
	}
}
