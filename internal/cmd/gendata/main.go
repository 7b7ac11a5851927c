// Command gendata generates synthetic extraction files for benchmarks and
// end-to-end tests: a current and a new version of users, groups,
// organizations and group memberships with exactly known differences, the
// configuration that reads them, and the counts that synchronizing the new
// version against the current one must report (see package gen).
//
// Usage:
//
//	go run ./internal/cmd/gendata -n 1000000 -out DIR [-seed 1] [-groups-per-user 10] [-json]
//
// It writes DIR/current/*.csv, DIR/new/*.csv, DIR/idsync.yaml and
// DIR/expected.json, prints the expected counts on standard output (as
// JSON with -json) and the time taken on standard error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/idsync/idsync/internal/gen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gendata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts gen.Options
	fs.IntVar(&opts.N, "n", 1_000_000, "number of users in the current version")
	fs.Int64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same files")
	fs.IntVar(&opts.GroupsPerUser, "groups-per-user", 10, "mean number of groups per user")
	out := fs.String("out", "", "output folder (required)")
	asJSON := fs.Bool("json", false, "print the expected counts as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("usage: gendata -n N -out DIR [-seed S] [-groups-per-user G] [-json]")
	}
	start := time.Now()
	exp, err := gen.Generate(*out, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "gendata: wrote %s in %v\n", *out, time.Since(start).Round(time.Millisecond))
	if *asJSON {
		return exp.WriteJSON(stdout)
	}
	return exp.WriteText(stdout)
}
