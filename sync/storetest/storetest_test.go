package storetest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	idsync "github.com/idsync/idsync/sync"
)

type naiveHarness struct {
	bug    string
	faults bool
}

func (h naiveHarness) NewStore(t *testing.T) idsync.Store { return newNaive(h.bug) }

func (h naiveHarness) Reopen(t *testing.T, s idsync.Store) idsync.Store { return s.(*naive).reopen() }

func (h naiveHarness) FailAfter(s idsync.Store, n int) bool {
	if !h.faults {
		return false
	}
	st := s.(*naive)
	st.mu.Lock()
	st.failAfter = n
	st.mu.Unlock()
	return true
}

// TestNaive runs the kit on the naive store: a second implementation,
// which must pass. With STORETEST_NAIVE_BUG set, TestKitCatchesBugs runs
// it in a subprocess on a store with that bug.
func TestNaive(t *testing.T) {
	bug := os.Getenv("STORETEST_NAIVE_BUG")
	if bug != "" {
		stopEarlyTimeout = 5 * time.Second
	}
	Run(t, naiveHarness{bug: bug, faults: os.Getenv("STORETEST_NAIVE_NOFAULTS") == ""})
}

// TestKitCatchesBugs checks that each defect of a store fails the clause
// that describes it.
func TestKitCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the kit on broken stores in subprocesses")
	}
	if os.Getenv("STORETEST_NAIVE_BUG") != "" {
		t.Skip("inside a subprocess")
	}
	cases := []struct {
		bug, clause string
		noFaults    bool
	}{
		{"nonatomic", "ApplyIsAtomic/InjectedFailure", false},
		{"nonatomic", "ApplyIsAtomic/UnreadableChangeSet", true},
		{"nonatomic", "ApplyIsAtomic/CancelledMidApply", true},
		{"nostalecheck", "StalePlanIsRefused", false},
		{"racycheck", "StalePlanIsRefused", false},
		{"fpchanges", "FingerprintChangesOnEveryWriteOnly", false},
		{"noidentity", "FingerprintIsPerStore", false},
		{"reopenid", "FingerprintIsPerStore", false},
		{"collation", "SortedScansAreSorted", false},
		{"linkconcat", "SortedScansAreSorted", false},
		{"dropunmapped", "UnmappedPropertiesSurvive", false},
		{"trim", "ApplyInsertsUpdatesDeletes", false},
		{"short", "ApplyInsertsUpdatesDeletes", false},
		{"casefold", "ApplyInsertsUpdatesDeletes", false},
		{"dupscan", "CountsOrderIndependent", false},
		{"scanleak", "ScansCanStopEarly", false},
		{"nolock", "ConcurrentRunOfConnectorRefused", false},
	}
	for _, c := range cases {
		t.Run(c.bug+"/"+c.clause, func(t *testing.T) {
			t.Parallel()
			var pattern []string
			for _, part := range strings.Split("TestNaive/"+c.clause, "/") {
				pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
			}
			cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(pattern, "/"), "-test.v", "-test.count=1", "-test.timeout=3m")
			cmd.Env = append(os.Environ(), "STORETEST_NAIVE_BUG="+c.bug)
			if c.noFaults {
				cmd.Env = append(cmd.Env, "STORETEST_NAIVE_NOFAULTS=1")
			}
			out, err := cmd.CombinedOutput()
			switch {
			case err == nil:
				t.Errorf("the kit missed bug %q: clause %s passed:\n%s", c.bug, c.clause, out)
			case !strings.Contains(string(out), "--- FAIL: TestNaive/"+c.clause):
				t.Errorf("bug %q: clause %s did not fail as expected:\n%s", c.bug, c.clause, out)
			default:
				t.Logf("bug %q caught by %s:\n%s", c.bug, c.clause, firstErrors(string(out), 6))
			}
		})
	}
}

// firstErrors returns the first n lines of a test's output that report
// a failure.
func firstErrors(out string, n int) string {
	var lines []string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, ".go:") || strings.HasPrefix(strings.TrimSpace(l), "after") || strings.HasPrefix(l, "\t\t") {
			lines = append(lines, l)
			if len(lines) == n {
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}
