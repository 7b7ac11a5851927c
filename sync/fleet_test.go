package sync_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/blobartifacts"
	"github.com/idsync/idsync/sync/sqlstore"
)

// An instance is a process of its own: this test binary, run with
// $IDSYNC_INSTANCE set to what it must do, on the store at $IDSYNC_STORE
// and the bucket at $IDSYNC_BUCKET, in the work folder $IDSYNC_INSTANCE_WORK.
// It prints its result as one JSON line.
func TestInstanceHelper(t *testing.T) {
	do := os.Getenv("IDSYNC_INSTANCE")
	if do == "" {
		t.Skip("a process of TestSeveralInstances")
	}
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, os.Getenv("IDSYNC_STORE"), nil)
	if err != nil {
		fail(err)
	}
	bucket, err := blobartifacts.Open(ctx, os.Getenv("IDSYNC_BUCKET"))
	if err != nil {
		fail(err)
	}
	eng := idsync.New(store, &idsync.Options{WorkDir: os.Getenv("IDSYNC_INSTANCE_WORK"), Artifacts: bucket})
	out := map[string]any{}
	switch verb, arg, _ := strings.Cut(do, " "); verb {
	case "run", "incremental":
		conn := memconn.New(sabModel())
		if verb == "incremental" || arg == "open" {
			conn = memconn.New(open(sabModel()))
		}
		day1(conn)
		if verb == "incremental" {
			conn.Set("SAB_User", userHeader, []string{"U1", "Ann", "02/01/2024", "Y", "O1"}, []string{"U3", "Cid", "01/12/2019", "1", "O2"})
			conn.Set("SAB_Members", []string{"GroupID", "UserID"}, []string{"G1", "U1"}, []string{"G1", "U3"}, []string{"G2", "U3"})
		}
		mode := idsync.Complete
		if verb == "incremental" {
			mode = idsync.Incremental
		}
		run, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: mode})
		out["run"], out["error"] = run, errText(err)
	case "runs":
		runs, err := eng.Runs(ctx, nil)
		out["runs"], out["error"] = runs, errText(err)
	case "resume":
		run, err := eng.Resume(ctx, arg, &idsync.ReviewOptions{Actor: "instance 2"})
		out["run"], out["error"] = run, errText(err)
	}
	json.NewEncoder(os.Stdout).Encode(out)
	os.Exit(0)
}

func fail(err error) {
	fmt.Println(`{"error":` + fmt.Sprintf("%q", err.Error()) + `}`)
	os.Exit(2)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// instanceResult is what an instance printed.
type instanceResult struct {
	Run   *idsync.Run   `json:"run"`
	Runs  []*idsync.Run `json:"runs"`
	Error string        `json:"error"`
}

// instance runs one process of the fleet.
func instance(t *testing.T, storeURL, bucket, work, do string) instanceResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInstanceHelper$")
	cmd.Env = append(os.Environ(), "IDSYNC_INSTANCE="+do, "IDSYNC_STORE="+storeURL, "IDSYNC_BUCKET="+bucket, "IDSYNC_INSTANCE_WORK="+work)
	out, err := cmd.Output()
	require.NoError(t, err, "instance %q: %s", do, out)
	var res instanceResult
	line := strings.TrimSpace(string(out))
	require.NoError(t, json.Unmarshal([]byte(line[strings.LastIndex(line, "\n")+1:]), &res), "instance %q printed %s", do, out)
	return res
}

// TestSeveralInstances: processes with work folders of their own share
// one store (SQLite, and PostgreSQL) and one file:// bucket. A run
// blocked in one is listed and resumed by another; an incremental run in
// a third, after the complete run, diffs against the previous snapshot.
func TestSeveralInstances(t *testing.T) {
	stores := map[string]string{"SQLite": "sqlite:" + filepath.Join(t.TempDir(), "shared.db")}
	if dsn := os.Getenv("IDSYNC_POSTGRES_DSN"); dsn != "" {
		schema := fmt.Sprintf("fleet_%d", os.Getpid())
		admin, err := sql.Open("pgx", dsn) // the driver sqlstore registers
		require.NoError(t, err)
		defer admin.Close()
		_, err = admin.Exec("CREATE SCHEMA " + schema)
		require.NoError(t, err)
		defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		stores["PostgreSQL"] = dsn + sep + "search_path=" + schema
	} else if os.Getenv("CI") == "true" {
		t.Fatal("IDSYNC_POSTGRES_DSN is not set: CI runs the PostgreSQL tests")
	}
	for name, storeURL := range stores {
		t.Run(name, func(t *testing.T) {
			bucket := "file://" + t.TempDir()
			one, two, three := t.TempDir(), t.TempDir(), t.TempDir()

			blocked := instance(t, storeURL, bucket, one, "run")
			require.Contains(t, blocked.Error, "blocked")
			require.Equal(t, idsync.Blocked, blocked.Run.State)

			listed := instance(t, storeURL, bucket, two, "runs")
			require.Empty(t, listed.Error)
			require.Len(t, listed.Runs, 1, "instance 2 lists instance 1's run")
			assert.Equal(t, blocked.Run.ID, listed.Runs[0].ID)
			assert.Equal(t, idsync.Blocked, listed.Runs[0].State)

			resumed := instance(t, storeURL, bucket, two, "resume "+blocked.Run.ID)
			require.Empty(t, resumed.Error, "instance 2 resumes it")
			assert.Equal(t, idsync.Succeeded, resumed.Run.State)
			require.NotNil(t, resumed.Run.Review)
			assert.Equal(t, "instance 2", resumed.Run.Review.Actor)

			next := instance(t, storeURL, bucket, three, "incremental")
			require.Empty(t, next.Error, "instance 3 runs incrementally from the snapshot instance 2 kept")
			assert.EqualValues(t, 1, next.Run.EntityTypes[0].Deleted, "U2 vanished since the previous snapshot")

			store, err := sqlstore.Open(context.Background(), storeURL, nil)
			require.NoError(t, err)
			defer store.Close()
			users := 0
			for _, err := range store.Resources(context.Background(), sabModel().EntityType("SAB_User")) {
				require.NoError(t, err)
				users++
			}
			assert.Equal(t, 2, users)
			st, err := store.ConnectorState(context.Background(), "SAB")
			require.NoError(t, err)
			assert.Equal(t, next.Run.ID, st.LastRun)
			assert.Empty(t, st.BlockedRun)
		})
	}
}
