package main

import (
	"regexp"
	"strings"
)

// The library's error messages are written for Go programmers: each is
// prefixed by its package ("idsync: ", "sqlstore: "...) and some name
// the library's options ("set AllowEmpty"). The CLI prints them for
// people in its own words: human reads a message as a person should see
// it. JSON output keeps the library's full message.

// packagePrefix matches a package prefix of the module's packages at the
// start of a message or of a wrapped part of it (after ": " or "; ").
var packagePrefix = regexp.MustCompile(`(^|: |; )(?:idsync|sync|sqlstore|memstore|storetest|entitytype|extract|extsort|flock|rec|threshold|connector|csvconn|xlsxconn|memconn|restconn|blobartifacts): `)

// cliWords are the library's words for its options, and the CLI's.
var cliWords = strings.NewReplacer(
	"set AllowEmpty to", "use --allow-empty to",
	"RunOptions.AllowEmpty", "--allow-empty",
	"JobOptions.AllowEmpty", "--allow-empty",
	"AllowEmpty", "--allow-empty",
	"StopOnError", "--keep-going",
	"WaitLock", "--wait",
	"Options.WorkDir", "--work",
	"(Options.Artifacts)", "(--artifacts URL)",
	"Options.Artifacts", "--artifacts URL",
	"run in complete mode", "run with --mode complete",
)

// human returns a library message for people: without package prefixes,
// with the CLI's words for the library's options.
func human(msg string) string {
	for {
		out := packagePrefix.ReplaceAllString(msg, "$1")
		if out == msg {
			break
		}
		msg = out
	}
	return cliWords.Replace(msg)
}
