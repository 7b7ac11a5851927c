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
	for _, bl := range []int{1 << 12, 1 << 14, 1 << 16, -(1 << 12), -(1 << 14), -(1 << 16)} {
		blockLen = max(bl, -bl)
		stableSort = bl < 0
		best := time.Hour
		var phases string
		for range 5 {
			c0 := cpuTime()
			s := New(benchCompare, nil)
			for i := range n {
				s.Add(ctx, data[i*benchRecordSize:(i+1)*benchRecordSize])
			}
			c1 := cpuTime()
			it, _ := s.Sort(ctx)
			c2 := cpuTime()
			prev := make([]byte, benchKeySize)
			for it.Next() {
				if benchCompare(prev, it.Record()) > 0 {
					t.Fatal("order")
				}
				copy(prev, it.Record())
			}
			it.Close()
			c3 := cpuTime()
			if cpuTime()-c0 < best {
				best = cpuTime() - c0
				phases = fmt.Sprint((c1-c0).Nanoseconds()/n, " ", (c2-c1).Nanoseconds()/n, " ", (c3-c2).Nanoseconds()/n)
			}
		}
		fmt.Printf("block %d: %d ns/record (add sort iter %s)\n", bl, best.Nanoseconds()/n, phases)
	}
}
