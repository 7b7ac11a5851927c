package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

var diffCommand = &command{
	name:    "diff",
	args:    "--config FILE --entity TYPE [--connector NAME] OLD NEW [--changes] [--limit N] [--out DIR] [--json]",
	summary: "compare two extraction files of an entity type or association by key",
	detail: `
OLD and NEW are extraction files (or folders holding the file that the
configuration names for TYPE). Both are prepared as a run would prepare
them (values converted to their canonical form, bad rows rejected), then
diffed by key: the counts say what a complete run of NEW would change in a
store holding OLD. References to other entity types are not checked.`,
	nargs: [2]int{2, 2},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		flagConfig(fs, o, "")
		fs.StringVar(&o.entity, "entity", "", "the entity type or association `TYPE` to compare (required)")
		fs.StringVar(&o.connector, "connector", "", "the connector `NAME` whose model to use; the one defining TYPE when empty")
		fs.BoolVar(&o.changes, "changes", false, "list the changes, old → new")
		fs.IntVar(&o.limit, "limit", 0, "list at most `N` changes per table (0: all)")
		fs.StringVar(&o.out, "out", "", "keep the prepared files, error reports and change set in `DIR` (a temporary folder, removed, when empty)")
		flagJSON(fs, o, "the counts (and with --changes the changes)")
	},
	run: func(c *cli, o *opts, args []string) error { return c.diff(o, args[0], args[1]) },
}

// diffJSON has the shape of internal/gen's expected.json.
type diffJSON struct {
	EntityTypes  []entityJSON `json:"entityTypes"`
	Associations []assocJSON  `json:"associations"`
	Changes      []any        `json:"changes,omitempty"`
	// Rejected rows on each side, and the error reports with --out.
	OldRejected int64  `json:"oldRejected"`
	NewRejected int64  `json:"newRejected"`
	OldReport   string `json:"oldReport,omitempty"`
	NewReport   string `json:"newReport,omitempty"`
}

func (c *cli) diff(o *opts, oldPath, newPath string) error {
	cfg, err := loadConfig("diff", o.config)
	if err != nil {
		return err
	}
	if o.entity == "" {
		return usagef("diff", "--entity is required: the entity type or association to compare")
	}
	if o.limit < 0 {
		return usagef("diff", "--limit %d: want a positive number, or 0 for all", o.limit)
	}
	var m *entitytype.Model
	if o.connector != "" {
		if m = cfg.Connector(o.connector); m == nil {
			return &configError{fmt.Errorf("no connector %q in %s", o.connector, o.config)}
		}
	} else {
		m = modelOf(cfg, o.entity)
	}
	if m == nil {
		return &configError{fmt.Errorf("no entity type or association %q in %s", o.entity, o.config)}
	}
	tables := []string{o.entity}
	fileOf := o.entity // the table whose file OLD and NEW are
	isAssoc := m.EntityType(o.entity) == nil
	if isAssoc {
		i := slices.IndexFunc(m.Associations, func(a entitytype.Association) bool { return a.Name == o.entity })
		if i < 0 {
			return &configError{fmt.Errorf("no entity type or association %q in connector %s", o.entity, m.Name)}
		}
		if a := m.Associations[i]; a.Inline {
			// Its links are read from the source entity type's file.
			fileOf = bare(a.Source.EntityType)
			tables = append(tables, fileOf)
		}
	}
	oldExt, err := sideExtraction(m, fileOf, oldPath)
	if err != nil {
		return err
	}
	newExt, err := sideExtraction(m, fileOf, newPath)
	if err != nil {
		return err
	}
	dir := o.out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "idsync-diff-*"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	prog := c.newProgress(o)
	cs, _, err := idsync.DiffExtractions(c.ctx, m, oldExt, newExt, &idsync.CompareOptions{Dir: dir, Tables: tables})
	prog.stop()
	if err != nil {
		return err
	}
	res := diffJSON{EntityTypes: []entityJSON{}, Associations: []assocJSON{}}
	for _, t := range cs.EntityTypes() {
		if t.Name != o.entity {
			continue
		}
		res.EntityTypes = append(res.EntityTypes, entityJSON{Name: t.Name, Stored: t.Stored, Read: t.Read, Rejected: t.Rejected,
			Inserted: t.Inserted, Updated: t.Updated, Deleted: t.Deleted, Unchanged: t.Unchanged, Protected: t.Protected})
		for _, h := range t.Hints {
			res.EntityTypes[len(res.EntityTypes)-1].Hints = append(res.EntityTypes[len(res.EntityTypes)-1].Hints,
				hintJSON{Properties: h.Properties, Count: h.Count, Updates: h.Updates, Text: h.String()})
		}
	}
	for _, a := range cs.Associations() {
		if a.Name == o.entity {
			res.Associations = append(res.Associations, assocJSON{Name: a.Name, Stored: a.Stored, Read: a.Read,
				Rejected: a.Rejected, Inserted: a.Inserted, Deleted: a.Deleted})
		}
	}
	// The rejections of both sides, from their prepare summaries.
	sides := []struct {
		dir    string
		n      *int64
		report *string
	}{{filepath.Join(dir, "old"), &res.OldRejected, &res.OldReport}, {filepath.Join(dir, "new"), &res.NewRejected, &res.NewReport}}
	reps := make([]*idsync.Report, 2)
	for i, s := range sides {
		rep := readSummary(s.dir)
		reps[i] = rep
		if rep == nil {
			continue
		}
		for _, t := range rep.Tables {
			if t.Name != o.entity {
				continue
			}
			for reason, n := range t.Rejected {
				if reason != idsync.DroppedReference && reason != idsync.DuplicateLink {
					*s.n += n
				}
			}
		}
		if o.out != "" {
			*s.report = rep.CSV
		}
	}
	if o.json {
		if o.changes {
			if res.Changes, err = changesJSON(cs, changeFilter{limit: o.limit}); err != nil {
				return err
			}
		}
		return writeJSON(c.stdout, res)
	}
	w := c.stdout
	fmt.Fprintf(w, "%s: %s → %s\n\n", o.entity, oldPath, newPath)
	var r idsync.Run
	for _, t := range cs.EntityTypes() {
		if t.Name == o.entity {
			r.EntityTypes = append(r.EntityTypes, t)
		}
	}
	for _, a := range cs.Associations() {
		if a.Name == o.entity {
			r.Associations = append(r.Associations, a)
		}
	}
	counters(w, &r)
	fmt.Fprintln(w, "\n  (stored: rows of OLD; read: rows of NEW)")
	for _, t := range r.EntityTypes {
		for _, h := range t.Hints {
			fmt.Fprintf(w, "  hint: %s\n", h)
		}
	}
	for i, side := range []string{oldPath, newPath} {
		n := *sides[i].n
		if n == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s: %s%s", side, plural(n, "rejected row"), reasons(reps[i]))
		if o.out != "" {
			fmt.Fprintf(w, ", listed in %s", reps[i].CSV)
		} else {
			fmt.Fprint(w, " (--out DIR keeps the error reports)")
		}
		fmt.Fprintln(w)
	}
	if o.changes {
		fmt.Fprintln(w)
		return printChanges(w, cs, changeFilter{limit: o.limit})
	}
	return nil
}

// sideExtraction returns the extraction of one side of a diff: a folder,
// or a file that stands for table's file.
func sideExtraction(m *entitytype.Model, table, path string) (connector.Extraction, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, usagef("diff", "%s: no such file or folder", path)
	}
	if fi.IsDir() {
		return connector.Folder{Dir: path, Model: m}, nil
	}
	// A model copy whose table is read from that file.
	cp := *m
	cp.EntityTypes = slices.Clone(m.EntityTypes)
	cp.Associations = slices.Clone(m.Associations)
	base := filepath.Base(path)
	for i := range cp.EntityTypes {
		if cp.EntityTypes[i].Name == table {
			cp.EntityTypes[i].File = base
		}
	}
	for i := range cp.Associations {
		if cp.Associations[i].Name == table {
			cp.Associations[i].File = base
		}
	}
	return connector.Folder{Dir: filepath.Dir(path), Model: &cp}, nil
}

// readSummary reads the prepare summary in a prepared folder.
func readSummary(dir string) *idsync.Report {
	r := &idsync.Run{ErrorReport: filepath.Join(dir, idsync.ReportCSV)}
	return loadSummary(r)
}
