package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commandFlags returns the flags of a command, as --name, without -v.
func commandFlags(cmd *command) []string {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	var o opts
	if cmd.setFlags != nil {
		cmd.setFlags(fs, &o)
	}
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
	return out
}

// hasFlag reports whether a synopsis names a flag (not a longer one).
func hasFlag(synopsis, name string) bool {
	for _, w := range strings.FieldsFunc(synopsis, func(r rune) bool { return strings.ContainsRune(" []|", r) }) {
		if w == name {
			return true
		}
	}
	return false
}

// TestSynopsisComplete: every flag of every command is in its synopsis,
// which 'idsync help' prints.
func TestSynopsisComplete(t *testing.T) {
	for _, cmd := range commands {
		for _, f := range commandFlags(cmd) {
			assert.True(t, hasFlag(cmd.args, f), "idsync %s: synopsis %q lacks %s", cmd.name, cmd.args, f)
		}
	}
}

// TestREADMESynopsis: the README's command synopsis names every flag of
// every command.
func TestREADMESynopsis(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	lines := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "idsync" && lookup(f[1]) != nil && lines[f[1]] == "" {
			lines[f[1]] = l
		}
	}
	for _, cmd := range commands {
		l, ok := lines[cmd.name]
		if !assert.True(t, ok, "README: no synopsis line for idsync %s", cmd.name) {
			continue
		}
		for _, f := range commandFlags(cmd) {
			assert.True(t, hasFlag(l, f), "README: synopsis of idsync %s lacks %s: %q", cmd.name, f, l)
		}
	}
}
