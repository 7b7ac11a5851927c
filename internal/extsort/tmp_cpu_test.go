package extsort

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestTmpCPU(t *testing.T) {
	if os.Getenv("TMPCPU") == "" {
		t.Skip()
	}
	const n = 1_000_000
	rng := rand.NewPCG(1, 2)
	data := make([]byte, n*benchRecordSize)
	for i := range n {
		fillRecord(rng, data[i*benchRecordSize:(i+1)*benchRecordSize])
	}
	ctx := context.Background()
	for _, bl := range []int{1 << 10, 1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16, 1 << 18, 1 << 30} {
		blockLen = bl
		best := time.Hour
		for range 5 {
			c0 := cpuTime()
			s := New(benchCompare, nil)
			for i := range n {
				s.Add(ctx, data[i*benchRecordSize:(i+1)*benchRecordSize])
			}
			it, _ := s.Sort(ctx)
			prev := make([]byte, benchKeySize)
			for it.Next() {
				if benchCompare(prev, it.Record()) > 0 {
					t.Fatal("order")
				}
				copy(prev, it.Record())
			}
			it.Close()
			best = min(best, cpuTime()-c0)
		}
		fmt.Printf("block %d: %d ns/record\n", bl, best.Nanoseconds()/n)
	}
}
