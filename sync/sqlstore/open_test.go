package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	"github.com/idsync/idsync/sync/sqlstore"
)

const openURLEnv = "IDSYNC_SQLSTORE_OPEN_URL"

// TestOpenHelper opens the store at $IDSYNC_SQLSTORE_OPEN_URL and prints
// its identity: a subprocess of TestConcurrentOpenAcrossProcesses.
func TestOpenHelper(t *testing.T) {
	url := os.Getenv(openURLEnv)
	if url == "" {
		t.Skip("a subprocess of TestConcurrentOpenAcrossProcesses")
	}
	s, err := sqlstore.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	id, _ := s.Identity(context.Background())
	fmt.Printf("identity=%s\n", id)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentOpenAcrossProcesses starts several processes that open
// one fresh SQLite file at once, many times: every one succeeds (none
// fails with SQLITE_BUSY while another creates or migrates the schema),
// and all see the one identity made once.
func TestConcurrentOpenAcrossProcesses(t *testing.T) {
	if os.Getenv(openURLEnv) != "" {
		t.Skip("inside a subprocess")
	}
	const procs, rounds = 8, 40
	for round := range rounds {
		url := "sqlite:" + filepath.Join(t.TempDir(), "idsync.db")
		var wg gosync.WaitGroup
		ids := make([]string, procs)
		for i := range procs {
			wg.Go(func() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestOpenHelper$", "-test.count=1")
				cmd.Env = append(os.Environ(), openURLEnv+"="+url)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("round %d, process %d: %v\n%s", round, i, err, out)
					return
				}
				for l := range strings.SplitSeq(string(out), "\n") {
					if id, ok := strings.CutPrefix(l, "identity="); ok {
						ids[i] = id
					}
				}
			})
		}
		wg.Wait()
		for i := range ids {
			if ids[i] == "" || ids[i] != ids[0] {
				t.Errorf("round %d: the processes saw identities %q: want one, made once", round, ids)
				break
			}
		}
		if t.Failed() {
			return
		}
	}
}
