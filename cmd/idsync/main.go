// Command idsync runs idsync's synchronization engine on a configuration
// file and a folder of extraction files, and lets a person review what a
// run would change, resume or cancel a blocked run, read its error report,
// browse what the store holds, and compare two extraction files by key.
//
// Usage:
//
//	idsync plan       --config FILE --input DIR [--connector NAME] [--mode complete|incremental] [--allow-empty] [--store URL] [--work DIR] [--artifacts URL] [--wait] [--json]
//	idsync run        --config FILE --input DIR [--connector NAME] [--mode complete|incremental] [--allow-empty] [--keep-going] [--store URL] [--work DIR] [--artifacts URL] [--wait] [--json]
//	idsync resume     RUN_ID [--store URL] [--work DIR] [--artifacts URL] [--wait] [--as NAME] [--comment TEXT] [--json]
//	idsync cancel     RUN_ID [--store URL] [--work DIR] [--artifacts URL] [--wait] [--as NAME] [--comment TEXT] [--json]
//	idsync show       RUN_ID [--changes] [--op insert|update|delete] [--type NAME] [--key KEY] [--limit N] [--json] [--work DIR] [--store URL] [--artifacts URL]
//	idsync errors     RUN_ID [--limit N | --all] [--json] [--work DIR] [--store URL] [--artifacts URL]
//	idsync runs       [--connector NAME] [--state STATE,...] [--limit N] [--before RUN_ID] [--json] [--work DIR] [--store URL]
//	idsync prune      [--keep N] [--older-than DURATION] [--connector NAME] [--work DIR] [--store URL] [--artifacts URL] [--json]
//	idsync browse     TYPE [KEY] [--config FILE] [--limit N] [--after KEY] [--json] [--store URL]
//	idsync diff       --config FILE --entity TYPE [--connector NAME] OLD NEW [--changes] [--limit N] [--out DIR] [--json]
//	idsync activate   CONNECTOR [--config FILE] [--store URL] [--work DIR]
//	idsync deactivate CONNECTOR [--config FILE] [--store URL] [--work DIR]
//	idsync version
//	idsync help       [COMMAND]
//
// Every command takes -h for its help and -v (--verbose) to write the
// library's structured logs to standard error. Flags may come before or
// after the positional arguments.
//
// # Stores and folders
//
// --store defaults to $IDSYNC_STORE, else sqlite:./idsync.db: a SQLite
// file, created on first use by plan and run (show, browse, runs and
// errors only read: they create no store and no work folder, and say so
// when one is missing). postgres://user@host/db selects PostgreSQL.
// mem: is an in-memory store that forgets everything when the command
// exits: useful in tests and demos, where a plan or a first load is all
// there is to see. A run records its store (the URL, with a relative
// SQLite path made absolute and any password hidden, and the store's
// identity): resume and cancel use that store when --store is not given,
// and refuse another one (exit 4). --work defaults to $IDSYNC_WORK, else ./idsync-work: it
// holds the runs, their change sets and error reports, and each
// connector's state (blocked run, activation).
//
// # Exit codes
//
//	0  success: applied, or a plan within all limits
//	1  runtime error: bad input file, store error, failed run, run not found
//	2  usage or configuration error: bad flag or argument, invalid config
//	3  blocked by a threshold, a plan that would block, or an incremental
//	   run refused because the connector has a blocked run
//	4  stale plan on resume: the store changed since the run was planned,
//	   or the run was planned against another store
//	5  connector busy: another run, resume or cancel of the connector
//	   holds its lock, in this or another process (--wait waits for it)
//
// A run (plan and apply in one command) never exits 4: if the store
// changes while it plans, it fails with 1 and says to run again.
//
// # JSON
//
// With --json, plan, run and resume print one JSON object on standard
// output:
//
//	{"run": ID, "state": "planned|succeeded|blocked|failed|cancelled|busy", "mode": "complete",
//	 "exceeded": false, "errorReport": PATH, "error": "...",
//	 "connectors": [{"name": "SAB", "run": ID, "state": ..., "mode": ..., "exceeded": false,
//	   "entityTypes": [{"name", "stored", "read", "rejected", "inserted", "updated", "deleted", "unchanged", "protected", "hints"}],
//	   "associations": [{"name", "stored", "read", "rejected", "inserted", "deleted"}],
//	   "verdicts": [{"rule", "scope", "name", "count", "denominator", "limit", "allowed", "exceeded", "text"}],
//	   "warnings", "headerChanges", "rejected", "errorReport", "error"}]}
//
// When a job runs several connectors, each connector entry has its own
// "run" and "state", and the top-level "run" and "errorReport" are those of
// the last connector that ran; the top-level "state" is the job's (failed
// if any connector failed, else blocked if any is blocked, else succeeded,
// or planned for plan). A connector that did not run has state "skipped"
// and a "reason" (deactivated, or the job stopped at a blocked connector).
// A plan's state is "planned"; "exceeded" tells whether it would block.
//
// show --changes adds "changes" to its connector: {"entityType", "op",
// "key", "props": [{"name", "old", "new"}]} and {"association", "op",
// "source", "target"}. The values of a multi-valued property are arrays
// (in browse's "properties" too), and its update also lists "added" and
// "removed". errors --json prints {"run", "connector", "errorReport",
// "total", "rejections": [...]}: every row, or --limit N per table.
package main

import (
	"os"
	_ "time/tzdata" // time zones work on machines without a zoneinfo database
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
