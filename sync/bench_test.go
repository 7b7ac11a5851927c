package sync_test

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	gosync "sync"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
	"github.com/idsync/idsync/internal/gen"
	idsync "github.com/idsync/idsync/sync"
)

// Benchmarks run on data written by internal/gen; IDSYNC_BENCH_N sets the
// number of users (100,000 by default; BENCHMARKS.md uses 1,000,000).
var (
	benchOnce gosync.Once
	benchDir  string
	benchCfg  *entitytype.Config
)

func benchData(b *testing.B) (string, *entitytype.Model) {
	benchOnce.Do(func() {
		n := 100_000
		if v, err := strconv.Atoi(os.Getenv("IDSYNC_BENCH_N")); err == nil && v > 0 {
			n = v
		}
		dir, err := os.MkdirTemp("", "idsync-bench-*")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gen.Generate(dir, gen.Options{N: n, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		benchDir = dir
		if benchCfg, err = entitytype.LoadFile(filepath.Join(dir, gen.ConfigFile)); err != nil {
			b.Fatal(err)
		}
	})
	if benchCfg == nil {
		b.Fatal("no benchmark data")
	}
	return benchDir, &benchCfg.Connectors[0]
}

// BenchmarkBareCSV is the baseline of BenchmarkExtractCanonical: a bare
// encoding/csv loop with ReuseRecord over the same file.
func BenchmarkBareCSV(b *testing.B) {
	dir, _ := benchData(b)
	path := filepath.Join(dir, gen.CurrentDir, "users.csv")
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(f)
		r.ReuseRecord = true
		rows := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		f.Close()
	}
}

// BenchmarkExtractCanonical reads the users file through extract, locating
// columns by header name and converting every typed column to its
// canonical form.
func BenchmarkExtractCanonical(b *testing.B) {
	dir, m := benchData(b)
	t := m.EntityType(gen.UserType)
	path := filepath.Join(dir, gen.CurrentDir, "users.csv")
	convs := make([]*entitytype.Converter, len(t.Properties))
	cols := make([]string, len(t.Properties))
	for i := range t.Properties {
		c, err := entitytype.NewConverter(&t.Properties[i])
		if err != nil {
			b.Fatal(err)
		}
		convs[i], cols[i] = c, t.Properties[i].Column
	}
	for b.Loop() {
		r, err := extract.Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		idx, err := r.Columns(cols...)
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			for i, c := range convs {
				if _, err := c.Convert(rec[idx[i]]); err != nil {
					b.Fatal(err)
				}
			}
			rows++
		}
		r.Close()
	}
}

// BenchmarkPrepareUsers prepares the users file: read, convert, sort,
// write the prepared snapshot.
func BenchmarkPrepareUsers(b *testing.B) {
	dir, m := benchData(b)
	ext := connector.Folder{Dir: filepath.Join(dir, gen.CurrentDir), Model: m}
	for b.Loop() {
		out := b.TempDir()
		if _, err := idsync.Prepare(context.Background(), m, ext, &idsync.PrepareOptions{Dir: out, Tables: []string{gen.UserType}, SkipReferences: true}); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(out)
	}
}

// BenchmarkDiffUsers is the keyed diff of the two users files.
func BenchmarkDiffUsers(b *testing.B) { benchDiff(b, gen.UserType) }

// BenchmarkDiffMembers is the keyed diff of the two membership files.
func BenchmarkDiffMembers(b *testing.B) { benchDiff(b, gen.Members) }

func benchDiff(b *testing.B, table string) {
	dir, m := benchData(b)
	old := connector.Folder{Dir: filepath.Join(dir, gen.CurrentDir), Model: m}
	nw := connector.Folder{Dir: filepath.Join(dir, gen.NewDir), Model: m}
	for b.Loop() {
		out := b.TempDir()
		if _, _, err := idsync.DiffExtractions(context.Background(), m, old, nw, &idsync.CompareOptions{Dir: out, Tables: []string{table}}); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(out)
	}
}
