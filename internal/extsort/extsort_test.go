package extsort

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// byKey orders records by their first byte only, so that many records tie
// and stability shows: the bytes after the key make each record unique.
func byKey(a, b []byte) int { return bytes.Compare(a[:min(1, len(a))], b[:min(1, len(b))]) }

// record returns key, then seq as 4 bytes, then payload.
func record(key byte, seq int, payload []byte) []byte {
	rec := binary.BigEndian.AppendUint32([]byte{key}, uint32(seq))
	return append(rec, payload...)
}

// collect reads all records of it, then closes it.
func collect(t require.TestingT, it *Iterator) ([][]byte, error) {
	var out [][]byte
	for it.Next() {
		out = append(out, append([]byte{}, it.Record()...))
	}
	require.NoError(t, it.Close())
	return out, it.Err()
}

// sortAll adds recs to s and returns them sorted.
func sortAll(t require.TestingT, s *Sorter, recs [][]byte) ([][]byte, error) {
	ctx := context.Background()
	for _, r := range recs {
		require.NoError(t, s.Add(ctx, r))
	}
	require.Equal(t, int64(len(recs)), s.Len())
	it, err := s.Sort(ctx)
	if err != nil {
		return nil, err
	}
	return collect(t, it)
}

// requireRecords is require.Equal without its slow diff of long slices.
func requireRecords(t require.TestingT, want, got [][]byte) {
	for i := range min(len(want), len(got)) {
		if !bytes.Equal(want[i], got[i]) {
			require.Failf(t, "wrong record", "record %d is %q, want %q", i, got[i], want[i])
		}
	}
	require.Len(t, got, len(want))
}

func requireEmptyDir(t require.TestingT, dir string) {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "temporary files left behind")
}

// runFiles returns the run files in dir.
func runFiles(t require.TestingT, dir string) []string {
	paths, err := filepath.Glob(filepath.Join(dir, "idsync-extsort-*.run"))
	require.NoError(t, err)
	return paths
}

func TestSortMatchesStableSort(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.IntRange(1, 8).Draw(t, "keys")
		n := rapid.IntRange(0, 400).Draw(t, "n")
		budget := rapid.Int64Range(1, 8<<10).Draw(t, "budget")
		var recs [][]byte
		var size int64
		for i := range n {
			key := byte(rapid.IntRange(0, keys-1).Draw(t, "key"))
			payload := rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "payload")
			recs = append(recs, record(key, i, payload))
			size += int64(len(recs[i]))
		}

		s := New(byKey, &Options{MemoryBudget: budget, TempDir: dir})
		s.fanIn = rapid.IntRange(2, 5).Draw(t, "fanIn") // exercise merge passes
		got, err := sortAll(t, s, recs)
		require.NoError(t, err)

		want := slices.Clone(recs)
		slices.SortStableFunc(want, byKey)
		requireRecords(t, want, got)
		if n >= 2 && size > budget {
			require.Positive(t, s.spills, "nothing spilled")
		}
		requireEmptyDir(t, dir)
	})
}

func TestSpillAndMergePasses(t *testing.T) {
	for _, budget := range []int64{4 << 10, 64 << 10} {
		dir := t.TempDir()
		var recs [][]byte
		var size int64
		for i := range 20_000 {
			recs = append(recs, record(byte(i*7919%13), i, bytes.Repeat([]byte{'x'}, i%50)))
			size += int64(len(recs[i])) + entrySize
		}
		s := New(byKey, &Options{MemoryBudget: budget, TempDir: dir})
		got, err := sortAll(t, s, recs)
		require.NoError(t, err)
		slices.SortStableFunc(recs, byKey)
		requireRecords(t, recs, got)
		assert.Greater(t, s.spills, s.fanIn, "budget %d: expected more runs than the fan-in", budget)
		assert.Positive(t, s.merges, "budget %d: expected intermediate merges", budget)
		assert.LessOrEqual(t, s.spills, int(3*size/budget), "budget %d: runs should fill a third of the budget at least", budget)
		requireEmptyDir(t, dir)
	}
}

func TestInMemory(t *testing.T) {
	dir := t.TempDir()
	recs := [][]byte{[]byte("b2"), []byte("a1"), {}, []byte("b1"), {}, []byte("a2"), []byte("")}
	s := New(byKey, &Options{TempDir: dir})
	got, err := sortAll(t, s, recs)
	require.NoError(t, err)
	want := [][]byte{{}, {}, {}, []byte("a1"), []byte("a2"), []byte("b2"), []byte("b1")}
	require.Equal(t, want, got)
	require.Zero(t, s.spills)
}

func TestInMemoryBlocks(t *testing.T) {
	var recs [][]byte
	for i := range 3*blockLen + 100 {
		recs = append(recs, record(byte(i*7919%251), i, nil))
	}
	s := New(byKey, &Options{TempDir: t.TempDir()})
	got, err := sortAll(t, s, recs)
	require.NoError(t, err)
	slices.SortStableFunc(recs, byKey)
	requireRecords(t, recs, got)
	require.Zero(t, s.spills)
}

func TestEmptyInput(t *testing.T) {
	dir := t.TempDir()
	s := New(bytes.Compare, &Options{MemoryBudget: 1, TempDir: dir})
	got, err := sortAll(t, s, nil)
	require.NoError(t, err)
	require.Empty(t, got)
	requireEmptyDir(t, dir)
}

func TestEmptyRecordsStayStable(t *testing.T) {
	// An empty record shares its position in the arena with the record
	// after it; here they tie too.
	key := func(rec []byte) byte {
		if len(rec) == 0 {
			return 0
		}
		return rec[0]
	}
	byFirst := func(a, b []byte) int { return cmp.Compare(key(a), key(b)) }
	var recs [][]byte
	for i := range 3000 {
		if k := byte(i * 7919 % 5); k > 0 {
			recs = append(recs, record(k%3, i, nil))
		} else {
			recs = append(recs, []byte{}, record(0, i, nil))
		}
	}
	for _, budget := range []int64{1 << 10, 1 << 20} {
		got, err := sortAll(t, New(byFirst, &Options{MemoryBudget: budget, TempDir: t.TempDir()}), recs)
		require.NoError(t, err)
		want := slices.Clone(recs)
		slices.SortStableFunc(want, byFirst)
		requireRecords(t, want, got)
	}
}

func TestRecordLargerThanBudget(t *testing.T) {
	dir := t.TempDir()
	huge := record(1, 1, bytes.Repeat([]byte("h"), 1<<20))
	recs := [][]byte{record(2, 0, nil), huge, record(0, 2, nil), record(1, 3, []byte("after"))}
	s := New(byKey, &Options{MemoryBudget: 1 << 10, TempDir: dir})
	got, err := sortAll(t, s, recs)
	require.NoError(t, err)
	require.Equal(t, [][]byte{recs[2], huge, recs[3], recs[0]}, got)
	require.Positive(t, s.spills)
	requireEmptyDir(t, dir)
}

// spilled returns a Sorter holding n records, most of them spilled to dir.
func spilled(t *testing.T, dir string, n int) *Sorter {
	s := New(byKey, &Options{MemoryBudget: 4 << 10, TempDir: dir})
	for i := range n {
		require.NoError(t, s.Add(context.Background(), record(byte(i%3), i, []byte("payload"))))
	}
	require.NotEmpty(t, runFiles(t, dir))
	return s
}

func TestCloseRemovesFiles(t *testing.T) {
	t.Run("sorter", func(t *testing.T) {
		dir := t.TempDir()
		s := spilled(t, dir, 5000)
		require.NoError(t, s.Close())
		require.NoError(t, s.Close())
		requireEmptyDir(t, dir)
		require.ErrorIs(t, s.Add(context.Background(), []byte("x")), ErrFinished)
	})
	t.Run("iterator", func(t *testing.T) {
		dir := t.TempDir()
		s := spilled(t, dir, 5000)
		it, err := s.Sort(context.Background())
		require.NoError(t, err)
		require.True(t, it.Next())
		require.NoError(t, it.Close())
		require.NoError(t, it.Close())
		require.False(t, it.Next())
		require.NoError(t, s.Close())
		requireEmptyDir(t, dir)
		_, err = s.Sort(context.Background())
		require.ErrorIs(t, err, ErrFinished)
	})
}

func TestCancel(t *testing.T) {
	t.Run("add", func(t *testing.T) {
		dir := t.TempDir()
		s := spilled(t, dir, 5000)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var err error
		for i := 0; i <= checkEvery && err == nil; i++ {
			err = s.Add(ctx, []byte("x"))
		}
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, s.Add(context.Background(), []byte("x")), context.Canceled)
		requireEmptyDir(t, dir)
	})
	t.Run("sort", func(t *testing.T) {
		dir := t.TempDir()
		s := spilled(t, dir, 5000)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Sort(ctx)
		require.ErrorIs(t, err, context.Canceled)
		requireEmptyDir(t, dir)
	})
	t.Run("merge passes", func(t *testing.T) {
		dir := t.TempDir()
		s := spilled(t, dir, 50_000) // many runs, each below checkEvery records
		ctx, cancel := context.WithCancel(context.Background())
		s.cmp = func(a, b []byte) int { cancel(); return byKey(a, b) }
		_, err := s.Sort(ctx)
		require.ErrorIs(t, err, context.Canceled)
		requireEmptyDir(t, dir)
	})
	t.Run("iterate", func(t *testing.T) {
		dir := t.TempDir()
		s := spilled(t, dir, 5000)
		ctx, cancel := context.WithCancel(context.Background())
		it, err := s.Sort(ctx)
		require.NoError(t, err)
		require.True(t, it.Next())
		cancel()
		n := 0
		for it.Next() {
			n++
		}
		require.Less(t, n, checkEvery)
		require.ErrorIs(t, it.Err(), context.Canceled)
		requireEmptyDir(t, dir)
		require.NoError(t, it.Close())
	})
}

func TestDamagedRun(t *testing.T) {
	damage := map[string]func(path string) error{
		"truncated mid-record": func(path string) error {
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			return os.Truncate(path, fi.Size()/2+1)
		},
		"truncated to nothing": func(path string) error { return os.Truncate(path, 0) },
		"corrupt length": func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.Write(binary.AppendUvarint(nil, 1<<40))
			return errors.Join(err, f.Close())
		},
		"overflowing length": func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.Write(bytes.Repeat([]byte{0xff}, 12))
			return errors.Join(err, f.Close())
		},
	}
	for name, damage := range damage {
		for _, fanIn := range []int{2, maxFanIn} { // fails in Sort or in Next
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				s := spilled(t, dir, 5000)
				s.fanIn = fanIn
				path := runFiles(t, dir)[0]
				require.NoError(t, damage(path))

				it, err := s.Sort(context.Background())
				if err == nil {
					_, err = collect(t, it)
				}
				require.Error(t, err)
				require.ErrorContains(t, err, path)
				if strings.HasPrefix(name, "truncated") {
					require.ErrorIs(t, err, io.ErrUnexpectedEOF)
				}
				requireEmptyDir(t, dir)
			})
		}
	}
}

func TestTempDirMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	s := New(bytes.Compare, &Options{MemoryBudget: 1, TempDir: dir})
	ctx := context.Background()
	require.NoError(t, s.Add(ctx, []byte("a")))
	err := s.Add(ctx, []byte("b"))
	require.ErrorContains(t, err, dir)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, err, s.Add(ctx, []byte("c")), "errors are sticky")
	_, err2 := s.Sort(ctx)
	require.Equal(t, err, err2)
	require.NoError(t, s.Close())
}

func TestNilOptions(t *testing.T) {
	s := New(bytes.Compare, nil)
	require.Equal(t, int64(DefaultMemoryBudget), s.budget)
	require.Equal(t, os.TempDir(), s.dir)
	got, err := sortAll(t, s, [][]byte{[]byte("b"), []byte("a")})
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("a"), []byte("b")}, got)
	require.Panics(t, func() { New(nil, nil) })
}

func TestPrefixKeepsOrder(t *testing.T) {
	var recs [][]byte
	for i := range 5000 {
		recs = append(recs, record(byte(i*31%7), i, []byte{byte(i % 3)}))
	}
	// The record's first byte is its key's first byte: a valid prefix.
	prefix := func(r []byte) uint64 { return uint64(r[0]) << 56 }
	s := New(byKey, &Options{MemoryBudget: 16 << 10, TempDir: t.TempDir(), Prefix: prefix})
	got, err := sortAll(t, s, recs)
	require.NoError(t, err)
	slices.SortStableFunc(recs, byKey)
	requireRecords(t, recs, got)
}
