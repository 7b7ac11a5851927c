package extsort

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"testing"
)

var (
	benchRecords = flag.Int("extsort.records", 1_000_000, "records sorted by BenchmarkSortSpill")
	benchBudget  = flag.Int64("extsort.budget", 16<<20, "memory budget of BenchmarkSortSpill")
)

const (
	benchRecordSize = 100
	benchKeySize    = 16
)

func benchCompare(a, b []byte) int { return bytes.Compare(a[:benchKeySize], b[:benchKeySize]) }

// fillRecord writes a record with a random key and a fixed payload.
func fillRecord(rng *rand.PCG, rec []byte) {
	for i := 0; i < benchKeySize; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			rec[i+j] = 'a' + byte(v>>(j*8))%26
		}
	}
	for i := benchKeySize; i < len(rec); i++ {
		rec[i] = byte('0' + i%10)
	}
}

// benchSort adds n records from next, then reads them back in order.
func benchSort(b *testing.B, n int, opts *Options, next func(i int) []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(n * benchRecordSize))
	ctx := context.Background()
	runs := 0
	for b.Loop() {
		s := New(benchCompare, opts)
		for i := range n {
			if err := s.Add(ctx, next(i)); err != nil {
				b.Fatal(err)
			}
		}
		it, err := s.Sort(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		prev := make([]byte, benchKeySize)
		for it.Next() {
			if benchCompare(prev, it.Record()) > 0 {
				b.Fatal("out of order")
			}
			copy(prev, it.Record())
			got++
		}
		if err := it.Err(); err != nil {
			b.Fatal(err)
		}
		if err := it.Close(); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("got %d records, want %d", got, n)
		}
		runs = s.spills
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	b.ReportMetric(float64(runs), "runs")
}

// BenchmarkSortInMemory sorts 1,000,000 records of 100 bytes, generated
// beforehand, within the default budget.
func BenchmarkSortInMemory(b *testing.B) {
	const n = 1_000_000
	rng := rand.NewPCG(1, 2)
	data := make([]byte, n*benchRecordSize)
	for i := range n {
		fillRecord(rng, data[i*benchRecordSize:(i+1)*benchRecordSize])
	}
	benchSort(b, n, nil, func(i int) []byte { return data[i*benchRecordSize : (i+1)*benchRecordSize] })
}

// BenchmarkSortSpill sorts -extsort.records records of 100 bytes (default
// 1,000,000), generated on the fly so that only the sorter holds memory,
// within -extsort.budget (default 16 MiB).
func BenchmarkSortSpill(b *testing.B) {
	rng := rand.NewPCG(1, 2)
	rec := make([]byte, benchRecordSize)
	benchSort(b, *benchRecords, &Options{MemoryBudget: *benchBudget, TempDir: b.TempDir()},
		func(int) []byte { fillRecord(rng, rec); return rec })
}
