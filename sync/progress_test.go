package sync_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// recorder keeps a run's progress events.
type recorder struct {
	mu     gosync.Mutex
	events []idsync.Progress
}

func (r *recorder) add(p idsync.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, p)
}

// check checks that the steps come in order, that counts never go back,
// and that each table's last event holds the run's count.
func (r *recorder) check(t *testing.T, run *idsync.Run, steps []string) {
	t.Helper()
	var seen []string
	last := map[[2]string]idsync.Progress{}
	for _, e := range r.events {
		if len(seen) == 0 || seen[len(seen)-1] != e.Step {
			seen = append(seen, e.Step)
		}
		k := [2]string{e.Step, e.Name}
		if prev, ok := last[k]; ok && (e.Done < prev.Done || e.Bytes < prev.Bytes) {
			t.Errorf("%s %s went back: %+v after %+v", e.Step, e.Name, e, prev)
		}
		last[k] = e
	}
	assert.Equal(t, steps, seen, "steps in order, each once")
	for _, et := range run.EntityTypes {
		if !slices.Contains(steps, "prepare") {
			break
		}
		assert.Equal(t, et.Read, last[[2]string{"prepare", et.Name}].Done, "last prepare event of %s", et.Name)
	}
	for _, a := range run.Associations {
		if !slices.Contains(steps, "prepare") {
			break
		}
		assert.Equal(t, a.Read, last[[2]string{"prepare", a.Name}].Done, "last prepare event of %s", a.Name)
	}
	var changes int64
	for _, et := range run.EntityTypes {
		changes += et.Inserted + et.Updated + et.Deleted
	}
	for _, a := range run.Associations {
		changes += a.Inserted + a.Deleted
	}
	if steps[len(steps)-1] == "apply" {
		final := last[[2]string{"apply", ""}]
		assert.Equal(t, changes, final.Done, "apply ends with every change")
		assert.Equal(t, changes, final.Total)
	}
}

func TestProgressEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	users := "ID,Name,HireDate,Active,Org\n"
	for i := range 10000 {
		users += fmt.Sprintf("U%05d,User %d,02/01/2024,Y,O1\n", i, i)
	}
	files := map[string]string{
		"SAB_User.csv": users, "SAB_Org.csv": "Code,Label\nO1,Sales\n",
		"SAB_Group.csv": "GroupID,Name\nG1,All\n", "SAB_Members.csv": "GroupID,UserID\nG1,U00001\n",
	}
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	var rec recorder
	store := memstore.New()
	eng := idsync.New(store, &idsync.Options{WorkDir: t.TempDir(), Progress: rec.add})
	m := open(sabModel())
	run, err := eng.Run(ctx, memconn.New(m), &idsync.RunOptions{Extraction: connector.Folder{Dir: dir, Model: m}})
	require.NoError(t, err)
	rec.check(t, run, []string{"prepare", "diff", "apply"})
	var userEvents []idsync.Progress
	for _, e := range rec.events {
		if e.Step == "prepare" && e.Name == "SAB_User" {
			userEvents = append(userEvents, e)
		}
	}
	require.Greater(t, len(userEvents), 2, "10,000 rows move the count more than once")
	size := int64(len(users))
	last := userEvents[len(userEvents)-1]
	assert.Equal(t, [2]int64{size, size}, [2]int64{last.Bytes, last.Size}, "a file's size gives a fraction")
	assert.Less(t, userEvents[0].Bytes, size)
	assert.Positive(t, userEvents[0].Bytes)

	// A blocked run resumed: apply reports progress too.
	rec = recorder{}
	eng = idsync.New(memstore.New(), &idsync.Options{WorkDir: t.TempDir(), Progress: rec.add})
	conn := memconn.New(sabModel()) // a first load blocks
	day1(conn)
	blocked, err := eng.Run(ctx, conn, nil)
	require.ErrorIs(t, err, idsync.ErrBlocked)
	rec.check(t, blocked, []string{"export", "prepare", "diff"})
	rec = recorder{}
	resumed, err := eng.Resume(ctx, blocked.ID, nil)
	require.NoError(t, err)
	rec.check(t, resumed, []string{"apply"})
}

// TestQuietByDefault: without a Logger, the engine logs no INFO line to
// slog.Default(), only warnings.
func TestQuietByDefault(t *testing.T) {
	var buf strings.Builder
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	eng := idsync.New(memstore.New(), &idsync.Options{WorkDir: t.TempDir()})
	conn := memconn.New(sabModel())
	day1(conn)
	_, err := eng.Run(context.Background(), conn, nil) // blocks: a warning
	require.ErrorIs(t, err, idsync.ErrBlocked)
	assert.NotContains(t, buf.String(), "level=INFO")
	assert.Contains(t, buf.String(), "level=WARN")
	assert.Contains(t, buf.String(), "run blocked by thresholds")
}
