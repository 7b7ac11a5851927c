package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// The benchmarks apply an initial load of N users with 10 properties and
// 10·N memberships (N/10 groups of about 100 members) into a fresh store:
//
//	go test -run '^$' -bench . -benchtime 1x ./sync/sqlstore/
//	IDSYNC_BENCH_N=1000000 go test -run '^$' -bench 'Load/sqlite' -benchtime 1x -timeout 1h ./sync/sqlstore/
//
// N is 100,000 unless IDSYNC_BENCH_N sets it (a comma-separated list).
// The PostgreSQL benchmarks need IDSYNC_POSTGRES_DSN. Each reports rows/s
// (resources and links written per second of Apply); the change sets are
// planned once, outside the timer.

func benchSizes(b *testing.B) []int {
	s := os.Getenv("IDSYNC_BENCH_N")
	if s == "" {
		return []int{100_000}
	}
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			b.Fatalf("IDSYNC_BENCH_N=%q: want sizes of at least 10", s)
		}
		ns = append(ns, n)
	}
	return ns
}

func benchModel(links bool) *entitytype.Model {
	user := entitytype.EntityType{Name: "User", Key: []string{"id"}}
	for _, p := range []string{"id", "login", "firstName", "lastName", "mail", "department", "title", "manager", "hireDate", "status"} {
		user.Properties = append(user.Properties, entitytype.Property{Name: p, Column: p})
	}
	m := &entitytype.Model{Name: "BENCH", EntityTypes: []entitytype.EntityType{user,
		{Name: "Group", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "id"}, {Name: "label", Column: "label"}}},
	}}
	if links {
		m.Associations = []entitytype.Association{{Name: "Members",
			Source: entitytype.End{EntityType: "Group", Column: "group"}, Target: entitytype.End{EntityType: "User", Column: "user"}}}
	}
	return m
}

func benchExtraction(n int, links bool) memconn.Extraction {
	users := make([][]string, n)
	for i := range users {
		id := fmt.Sprintf("u%07d", i)
		users[i] = []string{id, "login" + id, "First" + strconv.Itoa(i%997), "Last" + strconv.Itoa(i%7919),
			id + "@example.com", "Dept " + strconv.Itoa(i%50), "Title " + strconv.Itoa(i%30),
			fmt.Sprintf("u%07d", i/10), fmt.Sprintf("20%02d-%02d-%02d", i%25, 1+i%12, 1+i%28), "active"}
	}
	groups := make([][]string, max(n/10, 1))
	for i := range groups {
		groups[i] = []string{fmt.Sprintf("g%06d", i), "Group " + strconv.Itoa(i)}
	}
	ext := memconn.Extraction{
		"User":  {Header: []string{"id", "login", "firstName", "lastName", "mail", "department", "title", "manager", "hireDate", "status"}, Rows: users},
		"Group": {Header: []string{"id", "label"}, Rows: groups},
	}
	if links {
		members := make([][]string, 0, 10*n)
		for i := range n {
			for k := range 10 {
				g := (i*7 + k*(len(groups)/10+1)) % len(groups)
				members = append(members, []string{groups[g][0], users[i][0]})
			}
		}
		ext["Members"] = memconn.Table{Header: []string{"group", "user"}, Rows: members}
	}
	return ext
}

// benchPlans are the change sets of a size: resources only, links only
// (planned after the resources), and both at once.
type benchPlans struct {
	resources, links, both *idsync.ChangeSet
	n                      int
}

// benchCache keeps a sub-benchmark's plans while it runs (its function
// runs several times).
var benchCache = map[string]*benchPlans{}

func plansFor(b *testing.B, n int) *benchPlans {
	if p := benchCache[b.Name()]; p != nil {
		return p
	}
	dir, err := os.MkdirTemp("", "sqlstore-bench-*")
	require.NoError(b, err)
	name := b.Name()
	b.Cleanup(func() {
		delete(benchCache, name)
		os.RemoveAll(dir)
	})
	planIn := func(sub string, s idsync.Store, m *entitytype.Model, ext memconn.Extraction) *idsync.ChangeSet {
		ctx := context.Background()
		p, err := idsync.Prepare(ctx, m, ext, &idsync.PrepareOptions{Dir: filepath.Join(dir, sub, "prepared"), Store: s})
		require.NoError(b, err)
		fp, err := s.Fingerprint(ctx, m.Name)
		require.NoError(b, err)
		cs, err := idsync.Diff(ctx, p, s, &idsync.DiffOptions{Dir: filepath.Join(dir, sub, "changes"), Fingerprint: fp})
		require.NoError(b, err)
		return cs
	}
	p := &benchPlans{n: n}
	mem := memstore.New()
	p.both = planIn("both", mem, benchModel(true), benchExtraction(n, true))
	p.resources = planIn("resources", mem, benchModel(false), benchExtraction(n, false))
	require.NoError(b, mem.Apply(context.Background(), p.resources))
	p.links = planIn("links", mem, benchModel(true), benchExtraction(n, true))
	require.Zero(b, p.links.EntityTypes()[0].Inserted)
	benchCache[name] = p
	return p
}

func benchBackends(b *testing.B) []backend {
	bs := []backend{sqliteBackend}
	if os.Getenv("IDSYNC_POSTGRES_DSN") != "" {
		bs = append(bs, postgresBackend)
	}
	return bs
}

// BenchmarkLoad applies N users, N/10 groups and 10·N links in one
// change set.
func BenchmarkLoad(b *testing.B) {
	for _, be := range benchBackends(b) {
		for _, n := range benchSizes(b) {
			b.Run(fmt.Sprintf("%s/N=%d", be.name, n), func(b *testing.B) {
				p := plansFor(b, n)
				benchApply(b, be, nil, p.both, int64(n)*11+int64(n/10))
			})
		}
	}
}

// BenchmarkLoadResources applies N users (and N/10 groups).
func BenchmarkLoadResources(b *testing.B) {
	for _, be := range benchBackends(b) {
		for _, n := range benchSizes(b) {
			b.Run(fmt.Sprintf("%s/N=%d", be.name, n), func(b *testing.B) {
				p := plansFor(b, n)
				benchApply(b, be, nil, p.resources, int64(n+n/10))
			})
		}
	}
}

// BenchmarkLoadLinks applies 10·N links into a store holding the users
// and groups.
func BenchmarkLoadLinks(b *testing.B) {
	for _, be := range benchBackends(b) {
		for _, n := range benchSizes(b) {
			b.Run(fmt.Sprintf("%s/N=%d", be.name, n), func(b *testing.B) {
				p := plansFor(b, n)
				benchApply(b, be, p.resources, p.links, int64(n)*10)
			})
		}
	}
}

// BenchmarkScan reads N users back, sorted.
func BenchmarkScan(b *testing.B) {
	for _, be := range benchBackends(b) {
		for _, n := range benchSizes(b) {
			b.Run(fmt.Sprintf("%s/N=%d", be.name, n), func(b *testing.B) {
				p := plansFor(b, n)
				s := be.fresh(b)
				ctx := context.Background()
				require.NoError(b, s.Apply(ctx, p.both))
				m := benchModel(true)
				b.ResetTimer()
				for range b.N {
					rows := 0
					for _, err := range s.SortedResources(ctx, &m.EntityTypes[0]) {
						require.NoError(b, err)
						rows++
					}
					for _, err := range s.SortedLinks(ctx, &m.Associations[0]) {
						require.NoError(b, err)
						rows++
					}
					require.Equal(b, 11*n, rows)
				}
				b.ReportMetric(float64(11*n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// benchApply applies cs to fresh stores (holding before), and reports
// rows/s, and rows per second of this process's CPU time (user and
// system, all threads): the second is steadier on a busy machine, and
// does not count the PostgreSQL server's work.
func benchApply(b *testing.B, be backend, before, cs *idsync.ChangeSet, rows int64) {
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := be.fresh(b)
		if before != nil {
			require.NoError(b, s.Apply(ctx, before))
		}
		runtime.GC()
		c0 := cpuTime()
		b.StartTimer()
		require.NoError(b, s.Apply(ctx, cs))
		b.StopTimer()
		cpu += cpuTime() - c0
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
}

// cpuTime returns the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
