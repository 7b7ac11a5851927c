package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
)

func fileDiffModel() *entitytype.Model {
	return &entitytype.Model{Name: "F",
		EntityTypes: []entitytype.EntityType{{Name: "F_User", Key: []string{"id"}, Properties: []entitytype.Property{
			{Name: "id", Column: "ID"}, {Name: "name", Column: "Name"},
			{Name: "hired", Column: "Hired", Type: entitytype.Date, Format: "dd/MM/yyyy"},
		}}, {Name: "F_Group", Key: []string{"id"}, Properties: []entitytype.Property{{Name: "id", Column: "ID"}}}},
		Associations: []entitytype.Association{{Name: "F_Members",
			Source: entitytype.End{EntityType: "F_Group", Column: "G"}, Target: entitytype.End{EntityType: "F_User", Column: "U"}}},
	}
}

// genFiles writes a random version of the F model's tables into dir.
func genFiles(t *rapid.T, dir, label string) {
	keys := []string{"U1", "U2", "U3", "u1", "U10", "Ü", "U4"}
	users := [][]string{{"ID", "Name", "Hired"}}
	for _, k := range keys {
		for range rapid.IntRange(0, 2).Draw(t, label+"copies "+k) { // 0: absent, 2: duplicated
			date := rapid.SampledFrom([]string{"01/01/2024", "02/01/2024", "31/02/2024", "2024-01-01"}).Draw(t, label+"date")
			users = append(users, []string{k, rapid.SampledFrom([]string{"Ann", "Bob", "", "a, \"b\"\nc"}).Draw(t, label+"name"), date})
		}
	}
	if rapid.Bool().Draw(t, label+"nullkey") {
		users = append(users, []string{"", "Nobody", "01/01/2024"})
	}
	links := [][]string{{"G", "U"}}
	for _, k := range keys {
		for _, g := range []string{"G1", "G2"} {
			for range rapid.IntRange(0, 2).Draw(t, label+"link") {
				links = append(links, []string{g, k})
			}
		}
	}
	write := func(name string, rows [][]string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := extract.NewCSVWriter(f, nil)
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		f.Close()
	}
	write("F_User.csv", users)
	write("F_Group.csv", [][]string{{"ID"}, {"G1"}, {"G2"}})
	write("F_Members.csv", links)
}

// TestHashDiffEqualsPreparedDiff checks that the hash diff of two files
// gives the same change set as preparing both and diffing them.
func TestHashDiffEqualsPreparedDiff(t *testing.T) {
	base := t.TempDir()
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		dir := filepath.Join(base, fmt.Sprint(n))
		for _, d := range []string{"old", "new", "a", "b"} {
			os.MkdirAll(filepath.Join(dir, d), 0o755)
		}
		m := fileDiffModel()
		genFiles(rt, filepath.Join(dir, "old"), "old")
		genFiles(rt, filepath.Join(dir, "new"), "new")
		old := connector.Folder{Dir: filepath.Join(dir, "old"), Model: m}
		nw := connector.Folder{Dir: filepath.Join(dir, "new"), Model: m}
		ctx := context.Background()
		var oldExt, newExt connector.Extraction = old, nw
		if rapid.Bool().Draw(rt, "no offsets") { // rows are read again by line
			oldExt, newExt = noSeek{old}, noSeek{nw}
		}
		// Links take one pass, or many, each keeping a few hashes.
		passRows := rapid.SampledFrom([]int64{0, 3, 8}).Draw(rt, "link hashes a pass")
		fast, _, err := DiffExtractions(ctx, m, oldExt, newExt, &CompareOptions{Dir: filepath.Join(dir, "a"), linkPassRows: passRows})
		if err != nil {
			rt.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "a", "new", "F_Members.prepared")); err == nil {
			rt.Fatalf("the links were sorted, not hashed")
		}
		slow, _, err := DiffExtractions(ctx, m, old, nw, &CompareOptions{Dir: filepath.Join(dir, "b"), prepareBoth: true})
		if err != nil {
			rt.Fatal(err)
		}
		var a, b bytes.Buffer
		fast.WriteJSONLines(&a)
		slow.WriteJSONLines(&b)
		if a.String() != b.String() {
			rt.Fatalf("change sets differ:\nhash diff:\n%s\nprepared diff:\n%s\n%s", a.String(), b.String(), dump(dir))
		}
		for i, e := range fast.EntityTypes() {
			s := slow.EntityTypes()[i]
			if e.EntityCounts != s.EntityCounts || e.Protected != s.Protected {
				rt.Fatalf("%s counts: hash %+v, prepared %+v\n%s", e.Name, e.EntityCounts, s.EntityCounts, dump(dir))
			}
		}
		for i, e := range fast.Associations() {
			s := slow.Associations()[i]
			if e.Inserted != s.Inserted || e.Deleted != s.Deleted || e.Stored != s.Stored || e.Read != s.Read {
				rt.Fatalf("%s counts: hash %+v, prepared %+v\n%s", e.Name, e.LinkCounts, s.LinkCounts, dump(dir))
			}
		}
	})
}

// noSeek hides the ReadAt of its tables.
type noSeek struct{ connector.Extraction }

func (n noSeek) Open(ctx context.Context, name string) (connector.Table, error) {
	t, err := n.Extraction.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return struct{ connector.Table }{t}, nil
}

// dump returns the files of a failing case.
func dump(dir string) string {
	var b strings.Builder
	for _, side := range []string{"old", "new"} {
		for _, f := range []string{"F_User.csv", "F_Members.csv"} {
			data, _ := os.ReadFile(filepath.Join(dir, side, f))
			fmt.Fprintf(&b, "--- %s/%s\n%s", side, f, data)
		}
	}
	return b.String()
}

func TestHashDiffFallsBackOverBudget(t *testing.T) {
	dir := t.TempDir()
	m := fileDiffModel()
	for _, side := range []string{"old", "new"} {
		os.MkdirAll(filepath.Join(dir, side), 0o755)
		var b strings.Builder
		b.WriteString("ID,Name,Hired\n")
		for i := range 70000 {
			fmt.Fprintf(&b, "U%d,%s,01/01/2024\n", i, side)
		}
		os.WriteFile(filepath.Join(dir, side, "F_User.csv"), []byte(b.String()), 0o644)
	}
	old := connector.Folder{Dir: filepath.Join(dir, "old"), Model: m}
	nw := connector.Folder{Dir: filepath.Join(dir, "new"), Model: m}
	for _, budget := range []int64{1 << 20, 64 << 20} { // falls back, then not
		out := t.TempDir()
		cs, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: out, MemoryBudget: budget, Tables: []string{"F_User"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = os.Stat(filepath.Join(out, "new", "F_User.prepared"))
		if sorted := err == nil; sorted != (budget == 1<<20) {
			t.Fatalf("budget %d: sorted externally %v", budget, sorted)
		}
		if u := cs.EntityTypes()[0]; u.Updated != 70000 || u.Stored != 70000 {
			t.Fatalf("budget %d: %+v", budget, u.EntityCounts)
		}
	}
}

// TestHashDiffDuplicateLines checks the lines reported for duplicated keys,
// which the hash diff finds again from the rows' offsets: a multi-line
// field and blank lines come before them.
func TestHashDiffDuplicateLines(t *testing.T) {
	dir := t.TempDir()
	m := fileDiffModel()
	files := map[string]string{
		"old": "ID,Name,Hired\nU1,Ann,01/01/2024\nU2,Bob,01/01/2024\n",
		"new": "ID,Name,Hired\nU1,\"Ann\nSmith\",01/01/2024\n\n\nU2,Bob,01/01/2024\nU1,Ann,02/01/2024\n\"U2\",\"Bob\",01/01/2024\n",
	}
	for side, data := range files {
		os.MkdirAll(filepath.Join(dir, side), 0o755)
		os.WriteFile(filepath.Join(dir, side, "F_User.csv"), []byte(data), 0o644)
	}
	for _, seek := range []bool{true, false} {
		var old, nw connector.Extraction = connector.Folder{Dir: filepath.Join(dir, "old"), Model: m}, connector.Folder{Dir: filepath.Join(dir, "new"), Model: m}
		if !seek {
			old, nw = noSeek{old}, noSeek{nw}
		}
		out := t.TempDir()
		cs, pn, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: out, Tables: []string{"F_User"}})
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(pn.Report.JSONL)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var r Rejection
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%s@%d", r.Key, r.Line))
		}
		slices.Sort(lines)
		if want := []string{"U1@2", "U1@7", "U2@6", "U2@8"}; !slices.Equal(lines, want) {
			t.Errorf("seek %v: duplicates reported at %v, want %v", seek, lines, want)
		}
		if u := cs.EntityTypes()[0]; u.Updated+u.Deleted+u.Inserted != 0 || u.Protected != 2 {
			t.Errorf("seek %v: %+v, protected %d; want no change and both keys protected", seek, u.EntityCounts, u.Protected)
		}
	}
}

// TestRejectionsOutliveTheRow checks that what reports keep of a rejected
// row survives the rows read after it: rows are read without copying, from
// a buffer that later rows overwrite.
func TestRejectionsOutliveTheRow(t *testing.T) {
	dir := t.TempDir()
	m := fileDiffModel()
	var b strings.Builder
	b.WriteString("ID,Name,Hired\nU2,Bob,31/02/2024\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "U%05d,name %d,01/01/2024\n", i, i)
	}
	for _, side := range []string{"old", "new"} {
		os.MkdirAll(filepath.Join(dir, side), 0o755)
		os.WriteFile(filepath.Join(dir, side, "F_User.csv"), []byte(b.String()), 0o644)
	}
	check := func(what string, pt *PreparedTable, report string) {
		t.Helper()
		if !slices.Equal(pt.ProtectedKeys, []string{"U2"}) {
			t.Errorf("%s: protected keys %q, want [U2]", what, pt.ProtectedKeys)
		}
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), `"key":"U2"`) || !strings.Contains(string(data), `"raw":"31/02/2024"`) {
			t.Errorf("%s: report %s", what, data)
		}
	}
	ctx := context.Background()
	ext := connector.Folder{Dir: filepath.Join(dir, "new"), Model: m}
	p, err := Prepare(ctx, m, ext, &PrepareOptions{Dir: t.TempDir(), Tables: []string{"F_User"}, SkipReferences: true})
	if err != nil {
		t.Fatal(err)
	}
	check("Prepare", p.EntityTypes[0], p.Report.JSONL)
	old := connector.Folder{Dir: filepath.Join(dir, "old"), Model: m}
	_, pn, err := DiffExtractions(ctx, m, old, ext, &CompareOptions{Dir: t.TempDir(), Tables: []string{"F_User"}})
	if err != nil {
		t.Fatal(err)
	}
	check("DiffExtractions", pn.EntityTypes[0], pn.Report.JSONL)
}
