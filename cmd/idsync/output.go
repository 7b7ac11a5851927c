package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/threshold"
)

// The JSON forms printed with --json.

type resultJSON struct {
	Run         string          `json:"run"`
	State       string          `json:"state"`
	Mode        string          `json:"mode"`
	Exceeded    bool            `json:"exceeded"`
	Connectors  []connectorJSON `json:"connectors"`
	ErrorReport string          `json:"errorReport"`
	Error       string          `json:"error,omitempty"`
}

type connectorJSON struct {
	Name          string        `json:"name"`
	Run           string        `json:"run,omitempty"`
	State         string        `json:"state"`
	Mode          string        `json:"mode,omitempty"`
	Reason        string        `json:"reason,omitempty"` // why a connector was skipped
	Started       *time.Time    `json:"started,omitempty"`
	Ended         *time.Time    `json:"ended,omitempty"`
	Exceeded      bool          `json:"exceeded"`
	EntityTypes   []entityJSON  `json:"entityTypes"`
	Associations  []assocJSON   `json:"associations"`
	Verdicts      []verdictJSON `json:"verdicts"`
	Warnings      []string      `json:"warnings,omitempty"`
	HeaderChanges []headerJSON  `json:"headerChanges,omitempty"`
	Rejected      int64         `json:"rejected"`
	ErrorReport   string        `json:"errorReport,omitempty"`
	Error         string        `json:"error,omitempty"`
	Changes       []any         `json:"changes,omitempty"` // show --changes
}

type entityJSON struct {
	Name      string     `json:"name"`
	Stored    int64      `json:"stored"`
	Read      int64      `json:"read"`
	Rejected  int64      `json:"rejected"`
	Inserted  int64      `json:"inserted"`
	Updated   int64      `json:"updated"`
	Deleted   int64      `json:"deleted"`
	Unchanged int64      `json:"unchanged"`
	Protected int64      `json:"protected"`
	Hints     []hintJSON `json:"hints,omitempty"`
}

type hintJSON struct {
	Properties []string `json:"properties"`
	Count      int64    `json:"count"`
	Updates    int64    `json:"updates"`
	Text       string   `json:"text"`
}

type assocJSON struct {
	Name     string `json:"name"`
	Stored   int64  `json:"stored"`
	Read     int64  `json:"read"`
	Rejected int64  `json:"rejected"`
	Inserted int64  `json:"inserted"`
	Deleted  int64  `json:"deleted"`
}

type verdictJSON struct {
	Rule        string          `json:"rule"`
	Scope       string          `json:"scope"`
	Name        string          `json:"name"`
	Count       int64           `json:"count"`
	Denominator int64           `json:"denominator"`
	Limit       threshold.Limit `json:"limit"`
	Allowed     int64           `json:"allowed"`
	Exceeded    bool            `json:"exceeded"`
	Text        string          `json:"text"`
}

type headerJSON struct {
	Name    string   `json:"name"`
	Source  string   `json:"source"`
	Changes []string `json:"changes"`
}

// view is what the CLI shows of one connector's run.
type view struct {
	name   string
	run    *idsync.Run // nil for a connector that did not run
	reason string      // why it did not run
	err    error       // the run's error, if any (not a block)
	// planOnly is true for a plan (dry run).
	planOnly bool
	summary  *idsync.Report // the prepare summary, nil if none
}

// errText returns the run's error message.
func (v *view) errText() string {
	if v.err != nil {
		return v.err.Error()
	}
	if v.run != nil {
		return v.run.Error
	}
	return ""
}

// exceeded reports whether a verdict of the run is exceeded.
func (v *view) exceeded() bool {
	if v.run == nil {
		return false
	}
	return slices.ContainsFunc(v.run.Verdicts, func(x threshold.Verdict) bool { return x.Exceeded })
}

// state is the state shown: the run's, or "skipped".
// stateBusy is the state of a connector whose run was refused because
// another run of it held its lock: nothing was done.
const stateBusy = "busy"

func (v *view) state() string {
	if v.run == nil {
		switch {
		case errors.Is(v.err, idsync.ErrConnectorBlocked):
			return string(idsync.Blocked) // refused: the connector has a blocked run
		case errors.Is(v.err, idsync.ErrBusy):
			return stateBusy // refused: another run of the connector is in progress
		case v.err != nil:
			return string(idsync.Failed)
		}
		return "skipped"
	}
	return string(v.run.State)
}

// normalize works around Engine.Plan recording a plan that thresholds
// would block as failed (its deferred bookkeeping marks every run that
// returns an error and is not Blocked as Failed, BlockedError included):
// such a run is shown as what it is, a plan whose verdicts exceed. err is
// the error Plan returned, or nil for a run read from the work folder.
func normalize(r *idsync.Run, err error) {
	if r == nil || r.State != idsync.Failed {
		return
	}
	var be *idsync.BlockedError
	if errors.As(err, &be) || err == nil && r.ChangeSetHash != "" && strings.Contains(r.Error, " blocked: threshold: ") {
		r.State, r.Error, r.Ended = idsync.Planned, "", time.Time{}
	}
}

// loadSummary reads the prepare summary of a run (header changes,
// rejections by reason), if there is one.
func loadSummary(r *idsync.Run) *idsync.Report {
	if r == nil {
		return nil
	}
	dir := filepath.Join(r.Dir(), "prepared")
	if r.ErrorReport != "" {
		dir = filepath.Dir(r.ErrorReport)
	}
	b, err := os.ReadFile(filepath.Join(dir, idsync.ReportSummary))
	if err != nil {
		return nil
	}
	rep := new(idsync.Report)
	if json.Unmarshal(b, rep) != nil {
		return nil
	}
	return rep
}

func rejectedCount(r *idsync.Run) int64 {
	var n int64
	for _, t := range r.EntityTypes {
		n += t.Rejected
	}
	for _, a := range r.Associations {
		n += a.Rejected
	}
	return n
}

func (v *view) json() connectorJSON {
	cj := connectorJSON{Name: v.name, State: v.state(), Reason: v.reason,
		EntityTypes: []entityJSON{}, Associations: []assocJSON{}, Verdicts: []verdictJSON{}}
	cj.Error = v.errText()
	r := v.run
	if r == nil {
		return cj
	}
	cj.Run, cj.Mode, cj.Exceeded, cj.Warnings = r.ID, string(r.Mode), v.exceeded(), r.Warnings
	if !r.Started.IsZero() {
		cj.Started = &r.Started
	}
	if !r.Ended.IsZero() {
		cj.Ended = &r.Ended
	}
	for _, t := range r.EntityTypes {
		e := entityJSON{Name: t.Name, Stored: t.Stored, Read: t.Read, Rejected: t.Rejected,
			Inserted: t.Inserted, Updated: t.Updated, Deleted: t.Deleted, Unchanged: t.Unchanged, Protected: t.Protected}
		for _, h := range t.Hints {
			e.Hints = append(e.Hints, hintJSON{Properties: h.Properties, Count: h.Count, Updates: h.Updates, Text: h.String()})
		}
		cj.EntityTypes = append(cj.EntityTypes, e)
	}
	for _, a := range r.Associations {
		cj.Associations = append(cj.Associations, assocJSON{Name: a.Name, Stored: a.Stored, Read: a.Read,
			Rejected: a.Rejected, Inserted: a.Inserted, Deleted: a.Deleted})
	}
	for _, x := range r.Verdicts {
		cj.Verdicts = append(cj.Verdicts, verdictJSON{Rule: x.Rule, Scope: x.Scope.String(), Name: x.Name,
			Count: x.Count, Denominator: x.Denominator, Limit: x.Limit, Allowed: x.Allowed(), Exceeded: x.Exceeded, Text: x.String()})
	}
	if v.summary != nil {
		for _, t := range v.summary.Tables {
			if len(t.HeaderChanges) > 0 {
				cj.HeaderChanges = append(cj.HeaderChanges, headerJSON{Name: t.Name, Source: t.Source, Changes: t.HeaderChanges})
			}
		}
	}
	cj.Rejected = rejectedCount(r)
	cj.ErrorReport = r.ErrorReport
	return cj
}

// result builds the JSON object of a job (or of one run).
func result(views []*view, mode idsync.Mode, state string) resultJSON {
	res := resultJSON{State: state, Mode: string(mode), Connectors: []connectorJSON{}}
	var errs []string
	for _, v := range views {
		cj := v.json()
		res.Connectors = append(res.Connectors, cj)
		if v.run != nil {
			res.Run, res.ErrorReport, res.Mode = v.run.ID, v.run.ErrorReport, string(v.run.Mode)
		}
		res.Exceeded = res.Exceeded || cj.Exceeded
		if cj.Error != "" {
			errs = append(errs, v.name+": "+cj.Error)
		}
	}
	res.Error = strings.Join(errs, "; ")
	return res
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Text output.

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// table writes rows under a header, the first column left-aligned and
// the others (numbers) right-aligned.
func table(w io.Writer, indent string, header []string, rows [][]string) {
	width := len(header[0])
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) {
		fmt.Fprintf(tw, "%-*s\t", width, cells[0])
		for _, c := range cells[1:] {
			fmt.Fprintf(tw, "%s\t", c)
		}
		fmt.Fprintln(tw)
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	tw.Flush()
}

// counters writes the counter tables of a run.
func counters(w io.Writer, r *idsync.Run) {
	if len(r.EntityTypes) > 0 {
		var rows [][]string
		for _, t := range r.EntityTypes {
			rows = append(rows, []string{t.Name, group(t.Stored), group(t.Read), group(t.Rejected),
				group(t.Inserted), group(t.Updated), group(t.Deleted), group(t.Unchanged)})
		}
		table(w, "  ", []string{"ENTITY TYPE", "STORED", "READ", "REJECTED", "INSERTED", "UPDATED", "DELETED", "UNCHANGED"}, rows)
	}
	if len(r.Associations) > 0 {
		var rows [][]string
		for _, a := range r.Associations {
			rows = append(rows, []string{a.Name, group(a.Stored), group(a.Read), group(a.Rejected),
				group(a.Inserted), group(a.Deleted)})
		}
		if len(r.EntityTypes) > 0 {
			fmt.Fprintln(w)
		}
		table(w, "  ", []string{"ASSOCIATION", "STORED", "READ", "REJECTED", "INSERTED", "DELETED"}, rows)
	}
}

// paths remembers the flags to repeat in the commands printed for the
// user: the work folder and the store.
type paths struct {
	work, store string
}

// forRun returns p with the store that run r was planned against, if it
// records one: its change set applies there only.
func (p paths) forRun(r *idsync.Run) paths {
	if r.StoreName != "" {
		p.store = r.StoreName
	}
	return p
}

func (p paths) resume(id string) string {
	return "idsync resume " + shellQuote(id) + " --work " + shellQuote(p.work) + " --store " + shellQuote(redact(p.store))
}

func (p paths) cancel(id string) string {
	return "idsync cancel " + shellQuote(id) + " --work " + shellQuote(p.work)
}

func (p paths) show(id string) string {
	return "idsync show " + shellQuote(id) + " --changes --work " + shellQuote(p.work)
}

func (p paths) errors(id string) string {
	return "idsync errors " + shellQuote(id) + " --work " + shellQuote(p.work)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// styler colours words on a terminal.
type styler bool

func (s styler) state(st string) string {
	text := strings.ToUpper(st)
	if !s {
		return text
	}
	code := ""
	switch st {
	case string(idsync.Succeeded):
		code = "32"
	case string(idsync.Blocked):
		code = "33"
	case string(idsync.Failed):
		code = "31"
	case string(idsync.Planned):
		code = "36"
	default: // cancelled, skipped: coloured too, so that columns align
		code = "39"
	}
	return "\x1b[1;" + code + "m" + text + "\x1b[0m"
}

// printView writes one connector's outcome for people.
func printView(w io.Writer, v *view, p paths, st styler, allVerdicts bool) {
	r := v.run
	if r == nil {
		fmt.Fprintf(w, "%s  %s", v.name, st.state(v.state()))
		if v.reason != "" {
			fmt.Fprintf(w, "  (%s)", v.reason)
		}
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "%s  run %s  %s  (%s", v.name, r.ID, st.state(string(r.State)), r.Mode)
	if v.planOnly {
		fmt.Fprint(w, ", plan only: nothing written")
	}
	fmt.Fprintln(w, ")")
	if len(r.EntityTypes)+len(r.Associations) > 0 {
		fmt.Fprintln(w)
		counters(w, r)
	}
	// Hints, header drift.
	var notes []string
	for _, t := range r.EntityTypes {
		for _, h := range t.Hints {
			notes = append(notes, "hint: "+t.Name+": "+h.String())
		}
		if t.Protected > 0 {
			notes = append(notes, fmt.Sprintf("%s: %s protected: their stored resources are kept as they are", t.Name, plural(t.Protected, "rejected key")))
		}
	}
	if v.summary != nil {
		for _, t := range v.summary.Tables {
			for _, c := range t.HeaderChanges {
				notes = append(notes, fmt.Sprintf("header of %s (%s): %s", filepath.Base(t.Source), t.Name, c))
			}
		}
	}
	for _, x := range r.Warnings {
		notes = append(notes, "warning: "+x)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	// Verdicts.
	var exceeded, passed []threshold.Verdict
	for _, x := range r.Verdicts {
		if x.Exceeded {
			exceeded = append(exceeded, x)
		} else {
			passed = append(passed, x)
		}
	}
	if len(exceeded) > 0 {
		fmt.Fprintln(w)
		switch r.State {
		case idsync.Planned:
			fmt.Fprintln(w, "  A run would be blocked by thresholds:")
		case idsync.Blocked:
			fmt.Fprintln(w, "  Blocked by thresholds:")
		case idsync.Succeeded:
			fmt.Fprintln(w, "  Thresholds exceeded (the run was blocked, then resumed after review):")
		case idsync.Cancelled:
			fmt.Fprintln(w, "  Thresholds exceeded (the run was blocked, then cancelled):")
		default:
			fmt.Fprintln(w, "  Thresholds exceeded:")
		}
		for _, x := range exceeded {
			fmt.Fprintln(w, "    "+x.String())
		}
	}
	if allVerdicts && len(passed) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  Within limits:")
		for _, x := range passed {
			fmt.Fprintln(w, "    "+x.String())
		}
	} else if len(exceeded) == 0 && len(r.Verdicts) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Within all %d threshold limits.\n", len(r.Verdicts))
	}
	// Error report.
	if n := rejectedCount(r); n > 0 || v.summary != nil && hasWarnings(v.summary) {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Rejected rows: %s%s\n", group(n), reasons(v.summary))
		fmt.Fprintf(w, "  Error report: %s\n", r.ErrorReport)
		fmt.Fprintf(w, "    read it with: %s\n", p.errors(r.ID))
	}
	if r.State == idsync.Failed && r.Error != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  Failed: "+firstLine(v.errText()))
	}
	if by := supersededBy(r); by != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  Cancelled: "+supersededText(by, p.work))
	}
	if r.State == idsync.Blocked && !errors.Is(v.err, idsync.ErrStalePlan) {
		fmt.Fprintln(w)
		if !allVerdicts { // show lists them already
			fmt.Fprintln(w, "  Review:  "+p.show(r.ID))
		}
		if rp := p.forRun(r); isMem(rp.store) {
			fmt.Fprintln(w, "  Apply:   none: the mem: store forgets the state it was planned against when idsync exits; use a sqlite: or postgres:// store")
		} else {
			fmt.Fprintln(w, "  Apply:   "+rp.resume(r.ID))
		}
		fmt.Fprintln(w, "  Discard: "+p.cancel(r.ID))
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return human(first)
}

// hasWarnings reports whether the report lists rows kept with a warning.
func hasWarnings(r *idsync.Report) bool {
	for _, t := range r.Tables {
		if t.Rejected[idsync.DroppedReference]+t.Rejected[idsync.DuplicateLink] > 0 {
			return true
		}
	}
	return false
}

// reasons writes the rejections by table and reason:
// " (SAB_User: missingReference 19; SAB_Members: rejectedEnd 2)".
func reasons(r *idsync.Report) string {
	if r == nil {
		return ""
	}
	var parts []string
	for _, t := range r.Tables {
		var rs []string
		for _, reason := range slices.Sorted(maps.Keys(t.Rejected)) {
			n := t.Rejected[reason]
			if n == 0 {
				continue
			}
			s := fmt.Sprintf("%s %s", reason, group(n))
			if reason == idsync.DroppedReference || reason == idsync.DuplicateLink {
				s += " (kept)"
			}
			rs = append(rs, s)
		}
		if len(rs) > 0 {
			parts = append(parts, t.Name+": "+strings.Join(rs, ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// plural writes "1 rejected key" or "60 rejected keys".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return group(n) + " " + noun + "s"
}
