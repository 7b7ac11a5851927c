// Command quickstart synchronizes the bundled sample data (examples/sab)
// into the embedded SQLite store (a new database file in a temporary
// folder, or -store URL): the first run of each connector blocks on its
// thresholds (the store is empty), the program prints the review and
// resumes it; then a second day's extraction applies a few changes.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -store mem:   # the in-memory store
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csvconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/sync/sqlstore"
)

func main() {
	data := flag.String("data", "examples/sab", "folder holding idsync.yaml, day1/ and day2/")
	storeURL := flag.String("store", "", "store URL: sqlite:PATH, postgres://..., or mem: (default: a new SQLite file)")
	flag.Parse()
	log.SetFlags(0)
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := run(context.Background(), *data, *storeURL, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// getter reads one stored resource: memstore and sqlstore both can.
type getter func(entityType, key string) map[string]string

func run(ctx context.Context, data, storeURL string, out io.Writer) error {
	cfg, err := entitytype.LoadFile(filepath.Join(data, "idsync.yaml"))
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "idsync-quickstart-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if storeURL == "" {
		storeURL = "sqlite:" + filepath.Join(work, "idsync.db")
	}
	var store idsync.Store
	var get getter
	if storeURL == "mem:" {
		m := memstore.New()
		store, get = m, m.Get
	} else {
		s, err := sqlstore.Open(ctx, storeURL, nil)
		if err != nil {
			return err
		}
		defer s.Close()
		store = s
		get = func(t, k string) map[string]string {
			props, _, _ := s.Get(ctx, t, k)
			return props
		}
	}
	fmt.Fprintf(out, "store: %s\n", strings.Split(storeURL, ":")[0])
	engine := idsync.New(store, &idsync.Options{WorkDir: work})

	for _, day := range []string{"day1", "day2"} {
		fmt.Fprintf(out, "== %s\n", day)
		// HR first: SAB's users reference HR's organizations.
		for i := range cfg.Connectors {
			conn := csvconn.New(&cfg.Connectors[i], filepath.Join(data, day), nil)
			if err := syncOne(ctx, engine, conn, out); err != nil {
				return err
			}
		}
	}
	u := get("SAB_User", "U0061")
	fmt.Fprintf(out, "\nSAB_User U0061: %s, hired %s, organization %s\n", u["displayName"], u["hireDate"], u["organization"])
	return nil
}

// syncOne runs one connector; a blocked run is reviewed and resumed, as a
// person would after checking the changes.
func syncOne(ctx context.Context, engine *idsync.Engine, conn connector.Connector, out io.Writer) error {
	run, err := engine.Run(ctx, conn, nil)
	var blocked *idsync.BlockedError
	if errors.As(err, &blocked) {
		fmt.Fprintf(out, "%s: blocked by thresholds:\n", run.Connector)
		for _, v := range blocked.Err.Verdicts {
			fmt.Fprintf(out, "  %s\n", v)
		}
		if err := review(run, out); err != nil {
			return err
		}
		fmt.Fprintf(out, "  resuming %s\n", run.ID)
		run, err = engine.Resume(ctx, run.ID, nil)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s\n", run.Connector, run.State)
	for _, t := range run.EntityTypes {
		fmt.Fprintf(out, "  %-12s stored %3d  read %3d  rejected %d  inserted %3d  updated %d  deleted %d\n",
			t.Name, t.Stored, t.Read, t.Rejected, t.Inserted, t.Updated, t.Deleted)
		for _, h := range t.Hints {
			fmt.Fprintf(out, "    hint: %s\n", h)
		}
	}
	for _, a := range run.Associations {
		fmt.Fprintf(out, "  %-12s stored %3d  read %3d  rejected %d  links inserted %3d  deleted %d\n",
			a.Name, a.Stored, a.Read, a.Rejected, a.Inserted, a.Deleted)
	}
	return nil
}

// review prints the first changes of each entity type, old → new.
func review(run *idsync.Run, out io.Writer) error {
	cs, err := run.ChangeSet()
	if err != nil {
		return err
	}
	for _, t := range cs.EntityTypes() {
		n := 0
		for c, err := range cs.Resources(t.Name) {
			if err != nil {
				return err
			}
			if n++; n > 2 {
				fmt.Fprintf(out, "    ... %d more %s changes\n", t.Inserted+t.Updated+t.Deleted-2, t.Name)
				break
			}
			fmt.Fprintf(out, "    %s %s %s:", c.Op, t.Name, c.Key)
			for _, p := range c.Props {
				fmt.Fprintf(out, " %s=%q", p.Name, p.New)
			}
			fmt.Fprintln(out)
		}
	}
	return nil
}
