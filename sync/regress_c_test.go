package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
)

// writeBig writes the F model's tables with n users and about 8n links:
// invalid dates (rejected users, protected), duplicated users, links
// duplicated 2 or 3 times, links naming rejected users, empty ends.
func writeBig(t interface{ Fatal(...any) }, dir string, n int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	os.MkdirAll(dir, 0o755)
	var u strings.Builder
	u.WriteString("ID,Name,Hired\n")
	for i := range n {
		date := "01/01/2024"
		switch r.IntN(40) {
		case 0:
			date = "31/02/2024" // rejected, key protected
		case 1:
			date = fmt.Sprintf("0%d/01/2024", 1+r.IntN(2))
		}
		fmt.Fprintf(&u, "U%d,name%d,%s\n", i, r.IntN(3), date)
		if r.IntN(50) == 0 {
			fmt.Fprintf(&u, "U%d,dup,%s\n", i, date)
		}
	}
	var g strings.Builder
	g.WriteString("ID\n")
	for i := range 200 {
		fmt.Fprintf(&g, "G%d\n", i)
	}
	var l strings.Builder
	l.WriteString("G,U\n")
	for range 8 * n {
		src, tgt := fmt.Sprintf("G%d", r.IntN(200)), fmt.Sprintf("U%d", r.IntN(n+n/10))
		if r.IntN(5000) == 0 {
			tgt = ""
		}
		copies := 1
		switch r.IntN(20) {
		case 0:
			copies = 2
		case 1:
			copies = 3
		}
		for range copies {
			fmt.Fprintf(&l, "%s,%s\n", src, tgt)
		}
	}
	os.WriteFile(filepath.Join(dir, "F_User.csv"), []byte(u.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "F_Group.csv"), []byte(g.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "F_Members.csv"), []byte(l.String()), 0o644)
}

// summary renders what a DiffExtractions gave: change set, counts, prepared
// counts and protected keys of both sides, and the reports.
func summary(t interface{ Fatal(...any) }, cs *ChangeSet, dir string) string {
	var b bytes.Buffer
	cs.WriteJSONLines(&b)
	for _, e := range cs.EntityTypes() {
		fmt.Fprintf(&b, "%+v protected %d\n", e.EntityCounts, e.Protected)
	}
	for _, a := range cs.Associations() {
		fmt.Fprintf(&b, "%+v\n", a.LinkCounts)
	}
	for _, side := range []string{"old", "new"} {
		p, err := loadPrepared(filepath.Join(dir, side), cs.model)
		if err != nil {
			t.Fatal(err)
		}
		for _, pt := range slices.Concat(p.EntityTypes, p.Associations) {
			keys := slices.Clone(pt.ProtectedKeys)
			slices.Sort(keys)
			fmt.Fprintf(&b, "%s %s read %d prepared %d rejected %v protected %q\n", side, pt.Name, pt.Read, pt.Prepared, pt.Rejected, keys)
		}
		rs, err := ReadReport(filepath.Join(dir, side, ReportJSONL))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, r := range rs {
			lines = append(lines, fmt.Sprintf("%s %s %d %q %q %q %q", side, r.Name, r.Line, r.Key, r.Code, r.Raw, r.Message))
		}
		slices.Sort(lines)
		b.WriteString(strings.Join(lines, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n hash:     %s\n prepared: %s", i, x, y))
		}
	}
	return strings.Join(out, "\n")
}

func TestHashDiffLargeEqualsPrepared(t *testing.T) {
	for _, passRows := range []int64{0, 5000, 700} {
		t.Run(fmt.Sprint(passRows), func(t *testing.T) {
			base := t.TempDir()
			m := fileDiffModel()
			writeBig(t, filepath.Join(base, "old"), 3000, 1)
			writeBig(t, filepath.Join(base, "new"), 3000, 2)
			old := connector.Folder{Dir: filepath.Join(base, "old"), Model: m}
			nw := connector.Folder{Dir: filepath.Join(base, "new"), Model: m}
			ctx := context.Background()
			a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
			fast, _, err := DiffExtractions(ctx, m, old, nw, &CompareOptions{Dir: a, linkPassRows: passRows})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(a, "new", "F_Members.prepared")); err == nil {
				t.Fatalf("fell back")
			}
			slow, _, err := DiffExtractions(ctx, m, old, nw, &CompareOptions{Dir: b, prepareBoth: true})
			if err != nil {
				t.Fatal(err)
			}
			if x, y := summary(t, fast, a), summary(t, slow, b); x != y {
				t.Fatalf("differ:\n%s", diffLines(x, y))
			}
		})
	}
}

// closeSignal closes done when the table of name is closed the first time.
type closeSignal struct {
	connector.Extraction
	name string
	once *gosync.Once
	done chan struct{}
}

type signalTable struct {
	connector.Table
	fn func()
}

func (t signalTable) Close() error { err := t.Table.Close(); t.fn(); return err }

func (c closeSignal) Open(ctx context.Context, name string) (connector.Table, error) {
	t, err := c.Extraction.Open(ctx, name)
	if err != nil || name != c.name {
		return t, err
	}
	return signalTable{t, func() { c.once.Do(func() { close(c.done) }) }}, nil
}

// waitFor opens the table of name once wait is closed, and a little after.
type waitFor struct {
	connector.Extraction
	name string
	wait chan struct{}
}

func (w waitFor) Open(ctx context.Context, name string) (connector.Table, error) {
	if name == w.name {
		select {
		case <-w.wait:
		default:
			<-w.wait
			time.Sleep(100 * time.Millisecond) // the old side has dropped its buckets
		}
	}
	return w.Extraction.Open(ctx, name)
}

// TestLinkPassShrinkAfterOtherSideFinished: the old side finishes its pass
// (dropping buckets >= hi, 256) before the new side halves hi. The old
// side's buckets [128, 256) are never merged nor dropped: the next pass
// adds its hashes to them again, so every unchanged link there is seen twice
// on the old side, becomes pending, and the pending rows outgrow the budget.
func TestLinkPassShrinkAfterOtherSideFinished(t *testing.T) {
	base := t.TempDir()
	m := fileDiffModel()
	var l strings.Builder
	l.WriteString("G,U\n")
	for i := range 40000 {
		fmt.Fprintf(&l, "G%d,U%d\n", i%100, i)
	}
	for _, side := range []string{"old", "new"} {
		os.MkdirAll(filepath.Join(base, side), 0o755)
		os.WriteFile(filepath.Join(base, side, "F_Members.csv"), []byte(l.String()), 0o644)
	}
	done := make(chan struct{})
	old := closeSignal{connector.Folder{Dir: filepath.Join(base, "old"), Model: m}, "F_Members", &gosync.Once{}, done}
	nw := waitFor{connector.Folder{Dir: filepath.Join(base, "new"), Model: m}, "F_Members", done}
	out := filepath.Join(base, "out")
	cs, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: out, Tables: []string{"F_Members"},
		MemoryBudget: 4 << 20, linkPassRows: 70000})
	if err != nil {
		t.Fatal(err)
	}
	if a := cs.Associations()[0]; a.Stored != 40000 || a.Inserted+a.Deleted != 0 {
		t.Fatalf("%+v", a.LinkCounts)
	}
	if _, err := os.Stat(filepath.Join(out, "new", "F_Members.prepared")); err == nil {
		t.Fatal("no link changed, yet the hash diff went over budget and fell back to sorting")
	}
}

// TestHashDiffSummaryEqualsPrepared is the property test comparing everything:
// counts of both sides, protected keys and the reports.
func TestHashDiffSummaryEqualsPrepared(t *testing.T) {
	base := t.TempDir()
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		dir := filepath.Join(base, fmt.Sprint(n))
		for _, d := range []string{"old", "new"} {
			os.MkdirAll(filepath.Join(dir, d), 0o755)
		}
		m := fileDiffModel()
		genFiles(rt, filepath.Join(dir, "old"), "old")
		genFiles(rt, filepath.Join(dir, "new"), "new")
		old := connector.Folder{Dir: filepath.Join(dir, "old"), Model: m}
		nw := connector.Folder{Dir: filepath.Join(dir, "new"), Model: m}
		var oldExt, newExt connector.Extraction = old, nw
		if rapid.Bool().Draw(rt, "no offsets") {
			oldExt, newExt = noSeek{old}, noSeek{nw}
		}
		passRows := rapid.SampledFrom([]int64{0, 1, 3, 8}).Draw(rt, "link hashes a pass")
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		fast, _, err := DiffExtractions(context.Background(), m, oldExt, newExt, &CompareOptions{Dir: a, linkPassRows: passRows})
		if err != nil {
			rt.Fatal(err)
		}
		slow, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: b, prepareBoth: true})
		if err != nil {
			rt.Fatal(err)
		}
		if x, y := summary(rt, fast, a), summary(rt, slow, b); x != y {
			rt.Fatalf("differ:\n%s\n%s", diffLines(x, y), dump(dir))
		}
	})
}

// rewriteOnReopen writes data to the file of name before the second Open of
// that table: the file changes between two passes of the link diff.
type rewriteOnReopen struct {
	connector.Extraction
	name, path, data string
	opens            *int
}

func (r rewriteOnReopen) Open(ctx context.Context, name string) (connector.Table, error) {
	if name == r.name {
		if *r.opens++; *r.opens == 2 {
			os.WriteFile(r.path, []byte(r.data), 0o644)
		}
	}
	return r.Extraction.Open(ctx, name)
}

// TestLinksChangeBetweenPasses: the new side's links change between
// the first pass (hashes) and the second (rows of pending hashes), keeping
// the same number of rows. The diff should fail ("changed while it was
// compared"); it returns a change set that matches neither version.
func TestLinksChangeBetweenPasses(t *testing.T) {
	base := t.TempDir()
	m := fileDiffModel()
	for side, data := range map[string]string{"old": "G,U\nG1,U1\nG1,U2\n", "new": "G,U\nG1,U1\nG1,U3\n"} {
		os.MkdirAll(filepath.Join(base, side), 0o755)
		os.WriteFile(filepath.Join(base, side, "F_Members.csv"), []byte(data), 0o644)
	}
	old := connector.Folder{Dir: filepath.Join(base, "old"), Model: m}
	nw := rewriteOnReopen{connector.Folder{Dir: filepath.Join(base, "new"), Model: m}, "F_Members",
		filepath.Join(base, "new", "F_Members.csv"), "G,U\nG1,U1\nG1,U4\n", new(int)}
	cs, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: filepath.Join(base, "out"), Tables: []string{"F_Members"}})
	if err == nil {
		a := cs.Associations()[0]
		t.Fatalf("no error; change set: %+v (neither U3 nor U4 inserted)", a.LinkCounts)
	}
}

// TestHashDiffRichModelEqualsPrepared: int keys (links convert their ends),
// a composite key, an expression, a multi-valued property, and rejections
// of every kind spread over files larger than the reader's buffer: a
// borrowed string that escaped would show in the reports or protected keys.
func TestHashDiffRichModelEqualsPrepared(t *testing.T) {
	m := &entitytype.Model{Name: "R",
		EntityTypes: []entitytype.EntityType{
			{Name: "R_User", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID", Type: entitytype.Int},
				{Name: "full", Expression: `First + " " + upper(Last)`},
				{Name: "age", Column: "Age", Type: entitytype.Int},
				{Name: "tags", Column: "Tags", MultiValued: true},
			}},
			{Name: "R_Seat", Key: []string{"room", "desk"}, Properties: []entitytype.Property{
				{Name: "room", Column: "Room"}, {Name: "desk", Column: "Desk", Type: entitytype.Int}, {Name: "note", Column: "Note"},
			}},
		},
		Associations: []entitytype.Association{{Name: "R_Friends",
			Source: entitytype.End{EntityType: "R_User", Column: "A"}, Target: entitytype.End{EntityType: "R_User", Column: "B"}}},
	}
	base := t.TempDir()
	for s, side := range []string{"old", "new"} {
		r := rand.New(rand.NewPCG(uint64(s), 3))
		dir := filepath.Join(base, side)
		os.MkdirAll(dir, 0o755)
		var u, st, l strings.Builder
		u.WriteString("ID,First,Last,Age,Tags\n")
		for i := range 4000 {
			id := fmt.Sprint(i)
			switch r.IntN(60) {
			case 0:
				id = fmt.Sprintf("x%dy", i) // invalid int key, no key
			case 1:
				id = fmt.Sprintf(" 0%d ", i) // not canonical
			}
			age := fmt.Sprint(r.IntN(3) + 20)
			if r.IntN(50) == 0 {
				age = fmt.Sprintf("age%d", i) // invalid value: key protected
			}
			fmt.Fprintf(&u, "%s,F%d,l%d,%s,%s\n", id, r.IntN(2), i, age, []string{"a|b", "b|a", "c", ""}[r.IntN(4)])
			if r.IntN(80) == 0 {
				fmt.Fprintf(&u, "%s,Dup,dup,1,\n", id)
			}
		}
		st.WriteString("Room,Desk,Note\n")
		for i := range 3000 {
			desk := fmt.Sprint(i % 7)
			if r.IntN(60) == 0 {
				desk = fmt.Sprintf("d%d", i)
			}
			room := fmt.Sprintf("room%d", i/7)
			if r.IntN(100) == 0 {
				room = fmt.Sprintf("r\x1f%d", i) // separator in a key part
			}
			fmt.Fprintf(&st, "%s,%s,note%d\n", room, desk, r.IntN(2))
			if r.IntN(80) == 0 {
				fmt.Fprintf(&st, "%s,%s,dup\n", room, desk)
			}
		}
		l.WriteString("A,B\n")
		for range 30000 {
			a, b := fmt.Sprint(r.IntN(4400)), fmt.Sprint(r.IntN(4400))
			switch r.IntN(300) {
			case 0:
				b = "bad" + a
			case 1:
				a = "bad" + b
			case 2:
				a = ""
			case 3:
				b = " 0" + b
			}
			for range 1 + r.IntN(2)*r.IntN(2) {
				fmt.Fprintf(&l, "%s,%s\n", a, b)
			}
		}
		os.WriteFile(filepath.Join(dir, "R_User.csv"), []byte(u.String()), 0o644)
		os.WriteFile(filepath.Join(dir, "R_Seat.csv"), []byte(st.String()), 0o644)
		os.WriteFile(filepath.Join(dir, "R_Friends.csv"), []byte(l.String()), 0o644)
	}
	old := connector.Folder{Dir: filepath.Join(base, "old"), Model: m}
	nw := connector.Folder{Dir: filepath.Join(base, "new"), Model: m}
	for _, passRows := range []int64{0, 2000} {
		a, b := filepath.Join(base, fmt.Sprint("a", passRows)), filepath.Join(base, fmt.Sprint("b", passRows))
		var oe, ne connector.Extraction = old, nw
		if passRows > 0 {
			oe, ne = noSeek{old}, noSeek{nw}
		}
		fast, _, err := DiffExtractions(context.Background(), m, oe, ne, &CompareOptions{Dir: a, linkPassRows: passRows})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(a, "new", "R_Friends.prepared")); err == nil {
			t.Fatal("fell back")
		}
		slow, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: b, prepareBoth: true})
		if err != nil {
			t.Fatal(err)
		}
		if x, y := summary(t, fast, a), summary(t, slow, b); x != y {
			t.Fatalf("pass rows %d differ:\n%s", passRows, diffLines(x, y))
		} else if testing.Verbose() {
			t.Log(x[strings.Index(x, "{Name:"):][:3000])
		}
	}
}

// TestLinkDiffOverBudgetFallsBack: the link diff goes over budget after
// the entity types were diffed (and reported); the fallback must give the
// prepared path's result and leave no temporary files.
func TestLinkDiffOverBudgetFallsBack(t *testing.T) {
	base := t.TempDir()
	m := fileDiffModel()
	writeBig(t, filepath.Join(base, "old"), 3000, 1)
	writeBig(t, filepath.Join(base, "new"), 3000, 2)
	old := connector.Folder{Dir: filepath.Join(base, "old"), Model: m}
	nw := connector.Folder{Dir: filepath.Join(base, "new"), Model: m}
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	fast, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: a, MemoryBudget: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a, "new", "F_Members.prepared")); err != nil {
		t.Fatal("did not fall back")
	}
	slow, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: b, prepareBoth: true})
	if err != nil {
		t.Fatal(err)
	}
	if x, y := summary(t, fast, a), summary(t, slow, b); x != y {
		t.Fatalf("differ:\n%s", diffLines(x, y))
	}
	filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if strings.HasSuffix(p, ".tmp") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// TestHashDiffCancel: cancelling during the link passes returns the
// context's error and leaves no temporary report files.
func TestHashDiffCancel(t *testing.T) {
	base := t.TempDir()
	m := fileDiffModel()
	writeBig(t, filepath.Join(base, "old"), 3000, 1)
	writeBig(t, filepath.Join(base, "new"), 3000, 2)
	for _, after := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(after, cancel)
		out := filepath.Join(base, fmt.Sprint("out", after))
		_, _, err := DiffExtractions(ctx, m, connector.Folder{Dir: filepath.Join(base, "old"), Model: m},
			connector.Folder{Dir: filepath.Join(base, "new"), Model: m}, &CompareOptions{Dir: out, linkPassRows: 300})
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("after %v: %v", after, err)
		}
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if strings.HasSuffix(p, ".tmp") {
				t.Errorf("after %v: left behind: %s", after, p)
			}
			return nil
		})
		cancel()
	}
}

// TestDuplicateLinkWithRejectedEnd: a link repeated on two rows whose
// target was rejected (here a duplicated user). Prepare keeps the link once
// (one duplicateLink) and rejects it once (rejectedEnd); the hash diff
// rejects both rows as rejectedEnd: Rejected and the report differ.
func TestDuplicateLinkWithRejectedEnd(t *testing.T) {
	base := t.TempDir()
	m := fileDiffModel()
	for side, users := range map[string]string{"old": "ID,Name,Hired\nU4,Ann,01/01/2024\nU4,Bob,01/01/2024\n", "new": "ID,Name,Hired\nU4,Ann,31/02/2024\n"} {
		os.MkdirAll(filepath.Join(base, side), 0o755)
		os.WriteFile(filepath.Join(base, side, "F_User.csv"), []byte(users), 0o644)
		os.WriteFile(filepath.Join(base, side, "F_Group.csv"), []byte("ID\nG2\n"), 0o644)
		os.WriteFile(filepath.Join(base, side, "F_Members.csv"), []byte("G,U\nG2,U4\nG2,U4\n"), 0o644)
	}
	old := connector.Folder{Dir: filepath.Join(base, "old"), Model: m}
	nw := connector.Folder{Dir: filepath.Join(base, "new"), Model: m}
	var got [2]string
	for k, both := range []bool{false, true} {
		dir := filepath.Join(base, fmt.Sprint(k))
		cs, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: dir, prepareBoth: both})
		if err != nil {
			t.Fatal(err)
		}
		lines := []string{fmt.Sprintf("%+v", cs.Associations()[0].LinkCounts)}
		for _, side := range []string{"old", "new"} {
			rs, _ := ReadReport(filepath.Join(dir, side, ReportJSONL))
			for _, r := range rs {
				if r.Name == "F_Members" {
					lines = append(lines, fmt.Sprintf("%s line %d %s", side, r.Line, r.Code))
				}
			}
		}
		slices.Sort(lines[1:])
		got[k] = strings.Join(lines, "\n")
	}
	if got[0] != got[1] {
		t.Fatalf("hash diff:\n%s\nprepared diff:\n%s", got[0], got[1])
	}
}

// An entity file rewritten between the scan and the reading again of its
// changed rows is detected, even when the rows keep their offsets.
func TestEntitiesChangeBeforeReread(t *testing.T) {
	base := t.TempDir()
	m := fileDiffModel()
	for side, data := range map[string]string{"old": "ID,Name,Hired\nU1,Ann,01/01/2024\nU2,Bob,01/01/2024\n", "new": "ID,Name,Hired\nU1,Ann,01/01/2024\nU2,Bib,01/01/2024\n"} {
		os.MkdirAll(filepath.Join(base, side), 0o755)
		os.WriteFile(filepath.Join(base, side, "F_User.csv"), []byte(data), 0o644)
	}
	old := connector.Folder{Dir: filepath.Join(base, "old"), Model: m}
	nw := rewriteOnReopen{connector.Folder{Dir: filepath.Join(base, "new"), Model: m}, "F_User",
		filepath.Join(base, "new", "F_User.csv"), "ID,Name,Hired\nU1,Ann,01/01/2024\nU2,Bub,01/01/2024\n", new(int)}
	cs, _, err := DiffExtractions(context.Background(), m, old, nw, &CompareOptions{Dir: filepath.Join(base, "out"), Tables: []string{"F_User"}})
	if err == nil || !strings.Contains(err.Error(), "changed while it was compared") {
		t.Fatalf("error %v; change set %+v", err, cs)
	}
}
