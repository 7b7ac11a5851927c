package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/threshold"
)

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1 // runtime error
	exitUsage   = 2 // usage or configuration error
	exitBlocked = 3 // blocked by a threshold, or a plan that would block
	exitStale   = 4 // stale plan on resume
	exitBusy    = 5 // another run of the connector holds its lock
)

// command is one subcommand.
type command struct {
	name     string
	args     string // synopsis of the arguments, after the name
	summary  string // one line
	detail   string // paragraphs after the synopsis
	setFlags func(fs *flag.FlagSet, o *opts)
	run      func(c *cli, o *opts, args []string) error
	nargs    [2]int // min and max positional arguments (-1: any)
}

// commands in the order of the help.
var commands []*command

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// cli is one invocation's environment.
type cli struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

// opts holds every flag that some command defines; each command's
// FlagSet defines only its own.
type opts struct {
	config, input, connector, mode, store, work string
	entity, after, out, op, typ, key            string
	json, allowEmpty, changes, keepGoing, wait  bool
	all                                         bool
	verbose                                     bool
	limit                                       int
	actor, comment                              string        // who resumes or cancels, and why
	states, before                              string        // runs --state, --before
	olderThan                                   time.Duration // prune --older-than
	artifacts                                   string        // --artifacts
}

func defaultStore() string {
	if s := os.Getenv("IDSYNC_STORE"); s != "" {
		return s
	}
	return "sqlite:./idsync.db"
}

func defaultWork() string {
	if s := os.Getenv("IDSYNC_WORK"); s != "" {
		return s
	}
	return "./idsync-work"
}

// Flag helpers shared by the commands.
func flagStore(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.store, "store", defaultStore(), "store `URL`: sqlite:PATH, postgres://..., or mem: (in memory, forgotten at exit); $IDSYNC_STORE")
}

func flagWork(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.work, "work", defaultWork(), "work `DIR` holding runs, change sets, error reports and connector states; $IDSYNC_WORK")
}

func flagWait(fs *flag.FlagSet, o *opts) {
	fs.BoolVar(&o.wait, "wait", false, "if another run of the connector is in progress, wait for it to end instead of exiting with code 5")
}

// flagReview is --as and --comment of resume and cancel, for the run's
// audit.
func flagReview(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.actor, "as", osUser(), "`NAME` of the person who decides, recorded with the run")
	fs.StringVar(&o.comment, "comment", "", "why, in `TEXT`, recorded with the run")
}

// osUser is the name of the user running the command, or "".
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// review returns what resume and cancel record of who decides and why.
func (o *opts) review() *idsync.ReviewOptions {
	return &idsync.ReviewOptions{Actor: o.actor, Comment: o.comment}
}

func flagJSON(fs *flag.FlagSet, o *opts, what string) {
	fs.BoolVar(&o.json, "json", false, "print "+what+" as one JSON object on standard output")
}

func flagConfig(fs *flag.FlagSet, o *opts, def string) {
	fs.StringVar(&o.config, "config", def, "configuration `FILE` (YAML or JSON)")
}

// usageError is a usage error: exit code 2, with a pointer to the help.
type usageError struct {
	cmd string
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// configError is a configuration error: exit code 2.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// exitStatus ends a command whose outcome was already printed.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// exitCode maps an error to the process's exit code.
func exitCode(err error) int {
	var st exitStatus
	var ue *usageError
	var ce *configError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &st):
		return int(st)
	case errors.As(err, &ue), errors.As(err, &ce), errors.Is(err, entitytype.ErrInvalid):
		return exitUsage
	case errors.Is(err, idsync.ErrBusy):
		return exitBusy
	case errors.Is(err, idsync.ErrStalePlan):
		return exitStale
	case errors.Is(err, idsync.ErrBlocked), errors.Is(err, threshold.ErrExceeded), errors.Is(err, idsync.ErrConnectorBlocked):
		return exitBlocked
	}
	return exitError
}

// run is the whole program: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr,
		log: slog.New(slog.DiscardHandler)}
	verbose := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-v", "--v", "-verbose", "--verbose":
			verbose = true
			args = args[1:]
			continue
		case "-h", "--h", "-help", "--help":
			c.mainUsage(stdout)
			return exitOK
		case "-version", "--version":
			args = append([]string{"version"}, args[1:]...)
			continue
		}
		fmt.Fprintf(stderr, "idsync: unknown flag %s before the command\n", args[0])
		fmt.Fprintln(stderr, "Run 'idsync help' for usage.")
		return exitUsage
	}
	if len(args) == 0 {
		c.mainUsage(stderr)
		return exitUsage
	}
	name := args[0]
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "idsync: unknown command %q\n", name)
		fmt.Fprintln(stderr, "Run 'idsync help' for the list of commands.")
		return exitUsage
	}
	o := &opts{verbose: verbose}
	fs := flag.NewFlagSet("idsync "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if cmd.setFlags != nil {
		cmd.setFlags(fs, o)
	}
	fs.BoolVar(&o.verbose, "v", o.verbose, "same as --verbose")
	fs.BoolVar(&o.verbose, "verbose", o.verbose, "write the library's logs to standard error")
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		c.commandUsage(stdout, cmd, fs)
		return exitOK
	}
	if err == nil && (len(pos) < cmd.nargs[0] || (cmd.nargs[1] >= 0 && len(pos) > cmd.nargs[1])) {
		err = usagef(cmd.name, "%s", wrongArgs(cmd, pos))
	}
	if err != nil {
		fmt.Fprintf(stderr, "idsync %s: %v\n", cmd.name, err)
		fmt.Fprintf(stderr, "Run 'idsync %s -h' for usage.\n", cmd.name)
		return exitUsage
	}
	if o.verbose {
		c.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err = cmd.run(c, o, pos)
	code := exitCode(err)
	var st exitStatus
	if err != nil && !errors.As(err, &st) {
		c.printError(cmd.name, err)
	}
	return code
}

func wrongArgs(cmd *command, pos []string) string {
	switch {
	case len(pos) < cmd.nargs[0]:
		return "missing arguments; usage: idsync " + cmd.name + " " + cmd.args
	case cmd.nargs[1] == 0:
		return fmt.Sprintf("unexpected argument %q", pos[0])
	default:
		return fmt.Sprintf("too many arguments: %s", strings.Join(pos[cmd.nargs[1]:], " "))
	}
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments ("resume RUN_ID --store X"). "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printError writes err to standard error, one line per line of its
// message, each prefixed by the command.
func (c *cli) printError(cmd string, err error) {
	var ue *usageError
	for _, line := range strings.Split(human(err.Error()), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := ""
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") {
			indent = "  "
		}
		line = strings.TrimSpace(line)
		fmt.Fprintf(c.stderr, "idsync %s: %s%s\n", cmd, indent, line)
	}
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "Run 'idsync %s -h' for usage.\n", cmd)
	}
}

// stderrTTY reports whether standard error is a terminal, for progress
// bars.
func (c *cli) stderrTTY() bool { return isTTY(c.stderr) }

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// colour reports whether to colour standard output: a terminal, and
// NO_COLOR unset.
func (c *cli) colour(o *opts) bool {
	return !o.json && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && isTTY(c.stdout)
}

func (c *cli) mainUsage(w io.Writer) {
	fmt.Fprintln(w, "idsync synchronizes extraction files into an identity repository, with thresholds")
	fmt.Fprintln(w, "that block suspicious runs for review.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w)
	width := 0
	for _, cmd := range commands {
		width = max(width, len(cmd.name))
	}
	for _, cmd := range commands {
		fmt.Fprintf(w, "  idsync %-*s  %s\n", width, cmd.name, cmd.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Synopsis (every flag; 'idsync COMMAND -h' says what each does):")
	fmt.Fprintln(w)
	for _, cmd := range commands {
		fmt.Fprintln(w, "  "+strings.TrimSpace("idsync "+cmd.name+" "+cmd.args))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes -h for its help and -v (--verbose) to write the library's logs to stderr.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit codes: 0 success, 1 runtime error, 2 usage or configuration error,")
	fmt.Fprintln(w, "3 blocked by a threshold (or a plan that would block), 4 stale plan on resume,")
	fmt.Fprintln(w, "5 connector busy: another run of it is in progress (--wait waits for it).")
}

func (c *cli) commandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n", strings.TrimSpace("idsync "+cmd.name+" "+cmd.args))
	fmt.Fprintln(w, strings.ToUpper(cmd.summary[:1])+cmd.summary[1:]+".")
	if cmd.detail != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.TrimSpace(cmd.detail))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags:")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		arg, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if n == "v" {
			continue
		}
		if n == "verbose" {
			head = "  -v, --verbose"
		}
		if arg != "" {
			head += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", head, usage)
	}
}

// version returns the module's version, from the build information.
func version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		return v + " " + bi.GoVersion
	}
	return v
}

func init() {
	commands = []*command{
		planCommand(false),
		planCommand(true),
		resumeCommand,
		cancelCommand,
		showCommand,
		errorsCommand,
		runsCommand,
		pruneCommand,
		browseCommand,
		diffCommand,
		activateCommand(true),
		activateCommand(false),
		versionCommand,
		helpCommand,
	}
}

var versionCommand = &command{
	name: "version", summary: "print the version of idsync",
	run: func(c *cli, o *opts, args []string) error {
		fmt.Fprintln(c.stdout, "idsync", version())
		return nil
	},
}

var helpCommand = &command{
	name: "help", args: "[COMMAND]", summary: "show the help of idsync or of a command",
	nargs: [2]int{0, 1},
	run: func(c *cli, o *opts, args []string) error {
		if len(args) == 0 {
			c.mainUsage(c.stdout)
			return nil
		}
		cmd := lookup(args[0])
		if cmd == nil {
			return usagef("help", "unknown command %q", args[0])
		}
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		var o2 opts
		if cmd.setFlags != nil {
			cmd.setFlags(fs, &o2)
		}
		fs.Bool("v", false, "")
		fs.Bool("verbose", false, "write the library's logs to standard error")
		c.commandUsage(c.stdout, cmd, fs)
		return nil
	},
}
