// Command bench measures idsync on large extraction files (written by
// internal/cmd/gendata) and prints wall time, rows/s and peak memory:
//
//	bench diff    keyed diff of two extraction folders (the path of
//	              `idsync diff` and of incremental runs from snapshots), and
//	              a bare hash-join baseline over the same CSV files in the
//	              same process, so that their ratio survives machine noise
//	bench prepare Prepare of one extraction folder (read, convert, sort,
//	              write the prepared snapshot)
//	bench sync    complete runs of the engine into a store (-store URL),
//	              thresholds off: -old first (the initial load), then -new
//
// For example:
//
//	go run ./internal/cmd/gendata -n 1000000 -out /tmp/g1m
//	go run ./internal/cmd/bench diff -config /tmp/g1m/idsync.yaml -old /tmp/g1m/current -new /tmp/g1m/new -entity GEN_User
//	go run ./internal/cmd/bench prepare -config /tmp/g1m/idsync.yaml -input /tmp/g1m/new -entity GEN_User -budget 64
//	go run ./internal/cmd/bench sync -config /tmp/g1m/idsync.yaml -old /tmp/g1m/current -new /tmp/g1m/new -store sqlite:/tmp/g1m.db
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csvconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/sqlstore"
	"github.com/idsync/idsync/threshold"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 || !slices.Contains([]string{"diff", "prepare", "sync"}, os.Args[1]) {
		log.Fatal("usage: bench diff|prepare|sync [flags] (-h for the flags)")
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	config := fs.String("config", "", "configuration file (required)")
	oldDir := fs.String("old", "", "diff: folder of the old extraction")
	newDir := fs.String("new", "", "diff: folder of the new extraction")
	input := fs.String("input", "", "prepare: folder of the extraction")
	entity := fs.String("entity", "", "only this entity type or association")
	budget := fs.Int64("budget", 0, "sort memory budget in MiB (0: default)")
	baseline := fs.Bool("baseline", true, "diff: also run the bare hash-join baseline")
	storeURL := fs.String("store", "", "sync: the store (sqlite:PATH or postgres://...)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile")
	memprofile := fs.String("memprofile", "", "write a profile of the memory allocated")
	fs.Parse(os.Args[2:])
	if *config == "" || (cmd != "prepare" && (*oldDir == "" || *newDir == "")) || (cmd == "prepare" && *input == "") || (cmd == "sync" && *storeURL == "") {
		fs.Usage()
		os.Exit(2)
	}
	cfg, err := entitytype.LoadFile(*config)
	if err != nil {
		log.Fatal(err)
	}
	m := &cfg.Connectors[0]
	var tables []string
	files := connector.Files(m)
	if *entity != "" {
		tables = []string{*entity}
		file, _, err := connector.TableFile(m, *entity)
		if err != nil {
			log.Fatal(err)
		}
		files = []string{file}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			f, err := os.Create(*memprofile)
			if err != nil {
				log.Fatal(err)
			}
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}()
	}
	work, err := os.MkdirTemp("", "idsync-bench-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)

	if cmd == "sync" {
		benchSync(m, *storeURL, *oldDir, *newDir, work, *budget<<20)
		return
	}
	if cmd == "prepare" {
		start := time.Now()
		p, err := idsync.Prepare(context.Background(), m, connector.Folder{Dir: *input, Model: m},
			&idsync.PrepareOptions{Dir: work, MemoryBudget: *budget << 20, Tables: tables, SkipReferences: true})
		if err != nil {
			log.Fatal(err)
		}
		took := time.Since(start)
		var rows int64
		for _, t := range slices.Concat(p.EntityTypes, p.Associations) {
			if !t.Skipped {
				rows += t.Read
				fmt.Printf("%-12s read %9d prepared %9d rejected %d\n", t.Name, t.Read, t.Prepared, t.RejectedCount())
			}
		}
		fmt.Printf("prepare: %.3f s, %.0f rows/s, peak RSS %s\n", took.Seconds(), float64(rows)/took.Seconds(), peakRSS())
		return
	}

	start := time.Now()
	cs, _, err := idsync.DiffExtractions(context.Background(), m,
		connector.Folder{Dir: *oldDir, Model: m}, connector.Folder{Dir: *newDir, Model: m},
		&idsync.CompareOptions{Dir: work, MemoryBudget: *budget << 20, Tables: tables})
	if err != nil {
		log.Fatal(err)
	}
	took := time.Since(start)
	var rows int64
	for _, e := range cs.EntityTypes() {
		rows += e.Read + e.Stored
		fmt.Printf("%-12s stored %9d read %9d inserted %7d updated %7d deleted %7d unchanged %9d\n", e.Name, e.Stored, e.Read, e.Inserted, e.Updated, e.Deleted, e.Unchanged)
	}
	for _, a := range cs.Associations() {
		rows += a.Read + a.Stored
		fmt.Printf("%-12s stored %9d read %9d links inserted %7d deleted %7d\n", a.Name, a.Stored, a.Read, a.Inserted, a.Deleted)
	}
	fmt.Printf("idsync:   %.3f s, %.0f rows/s (both sides), peak RSS %s\n", took.Seconds(), float64(rows)/took.Seconds(), peakRSS())

	if *baseline {
		for _, name := range files {
			start := time.Now()
			keyCols := 1 // an entity type's key is its first column here
			if slices.ContainsFunc(m.Associations, func(a entitytype.Association) bool { f, _, _ := connector.TableFile(m, a.Name); return f == name }) {
				keyCols = 2 // a link is keyed by both its ends
			}
			ins, upd, del := hashJoin(filepath.Join(*oldDir, name), filepath.Join(*newDir, name), keyCols)
			fmt.Printf("baseline: %s: %.3f s (inserted %d, changed %d, deleted %d; raw text, single core)\n", name, time.Since(start).Seconds(), ins, upd, del)
		}
		fmt.Printf("peak RSS after baseline %s\n", peakRSS())
	}
}

// benchSync runs the engine twice into a store, thresholds off: the old
// extraction (an initial load), then the new one.
func benchSync(m *entitytype.Model, storeURL, oldDir, newDir, work string, budget int64) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, storeURL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	m.Thresholds = threshold.Off()
	engine := idsync.New(store, &idsync.Options{WorkDir: work, MemoryBudget: budget,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, dir := range []string{oldDir, newDir} {
		start := time.Now()
		run, err := engine.Run(ctx, csvconn.New(m, dir, &csvconn.Options{InPlace: true}), nil)
		if err != nil {
			log.Fatal(err)
		}
		took := time.Since(start)
		var changes, rows int64
		for _, t := range run.EntityTypes {
			changes += t.Inserted + t.Updated + t.Deleted
			rows += t.Read
			fmt.Printf("  %-12s stored %9d read %9d inserted %8d updated %7d deleted %7d\n", t.Name, t.Stored, t.Read, t.Inserted, t.Updated, t.Deleted)
		}
		for _, a := range run.Associations {
			changes += a.Inserted + a.Deleted
			rows += a.Read
			fmt.Printf("  %-12s stored %9d read %9d links inserted %8d deleted %7d\n", a.Name, a.Stored, a.Read, a.Inserted, a.Deleted)
		}
		fmt.Printf("sync %s: %.3f s end to end (%d rows read, %d changes applied), peak RSS %s\n", filepath.Base(dir), took.Seconds(), rows, changes, peakRSS())
	}
}

// hashJoin is the bare baseline: the old file's rows in a map keyed by the
// first keyCols columns, probed with the new file's rows, comparing raw
// text.
func hashJoin(oldPath, newPath string, keyCols int) (ins, upd, del int) {
	old := map[string]string{}
	key := func(rec []string) string { return strings.Join(rec[:keyCols], "\x1f") }
	each(oldPath, func(rec []string) { old[key(rec)] = strings.Join(rec, "\x1f") })
	each(newPath, func(rec []string) {
		k := key(rec)
		if v, ok := old[k]; !ok {
			ins++
		} else {
			if v != strings.Join(rec, "\x1f") {
				upd++
			}
			delete(old, k)
		}
	})
	return ins, upd, len(old)
}

func each(path string, fn func([]string)) {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	r.Read()
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		fn(rec)
	}
}

// peakRSS reads the process's peak resident set size (VmHWM) from Linux's
// /proc, or says it is unknown.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("%d MiB (Go heap sys)", ms.Sys>>20)
}
