package sync_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/threshold"
)

func TestDuplicateKeysAcrossSortChunks(t *testing.T) {
	ctx := context.Background()
	m := open(sabModel())
	conn := memconn.New(m)
	day1(conn)
	var rows [][]string
	for i := range 5000 {
		rows = append(rows, []string{fmt.Sprintf("U%05d", i), "name", "02/01/2024", "Y", "O1"})
	}
	// Duplicates far apart: first and last rows, and a triple.
	rows = append(rows, []string{"U00000", "again", "02/01/2024", "Y", "O1"})
	rows = append(rows, []string{"U02500", "again", "02/01/2024", "Y", "O1"}, []string{"U02500", "thrice", "02/01/2024", "Y", "O1"})
	conn.Set("SAB_User", userHeader, rows...)
	ext, _ := conn.Export(ctx, "")
	p, err := idsync.Prepare(ctx, m, ext, &idsync.PrepareOptions{Dir: t.TempDir(), MemoryBudget: 16 << 10, SkipReferences: true})
	require.NoError(t, err)
	u := p.EntityTypes[0]
	assert.EqualValues(t, 5003, u.Read)
	assert.EqualValues(t, 5, u.Rejected[idsync.DuplicateKey], "every row of a duplicated key")
	assert.EqualValues(t, 4998, u.Prepared)
	assert.True(t, u.Protected("U00000"))
	assert.True(t, u.Protected("U02500"))
	assert.False(t, u.Protected("U00001"))
}

func TestReorderedHeaderGivesIdenticalPreparedFile(t *testing.T) {
	ctx := context.Background()
	m := open(sabModel())
	a, b := memconn.New(m), memconn.New(m)
	day1(a)
	day1(b)
	b.Set("SAB_User", []string{"Org", "Active", "HireDate", "Name", "ID"},
		[]string{"O1", "Y", "02/01/2024", "Ann", "U1"},
		[]string{"O1", "N", "15/03/2020", "Bob", "U2"},
		[]string{"O2", "1", "01/12/2019", "Cid", "U3"},
	)
	prep := func(c *memconn.Connector) []byte {
		ext, _ := c.Export(ctx, "")
		p, err := idsync.Prepare(ctx, m, ext, &idsync.PrepareOptions{Dir: t.TempDir()})
		require.NoError(t, err)
		data, err := os.ReadFile(filepath.Join(p.Dir, p.EntityTypes[0].File))
		require.NoError(t, err)
		return data
	}
	assert.Equal(t, prep(a), prep(b))
}

func TestCSVVariantsPrepareAlike(t *testing.T) {
	ctx := context.Background()
	m := open(sabModel())
	write := func(name, content string) string {
		dir := t.TempDir()
		for _, f := range []struct{ file, body string }{
			{"SAB_User.csv", content},
			{"SAB_Org.csv", "Code,Label\nO1,Sales\nO2,IT\n"},
			{"SAB_Group.csv", "GroupID,Name\nG1,All\n"},
			{"SAB_Members.csv", "GroupID,UserID\nG1,U1\n"},
		} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f.file), []byte(f.body), 0o644), name)
		}
		return dir
	}
	plain := write("plain", "ID,Name,HireDate,Active,Org\nU1,\"Ann, Jr.\",02/01/2024,Y,O1\nU2,Bob,15/03/2020,N,O2\n")
	bomCRLF := write("bom", "\ufeffID,Name,HireDate,Active,Org\r\nU1,\"Ann, Jr.\",02/01/2024,Y,O1\r\nU2,Bob,15/03/2020,N,O2\r\n")
	semi := write("semi", "ID;Name;HireDate;Active;Org\nU1;Ann, Jr.;02/01/2024;Y;O1\nU2;Bob;15/03/2020;N;O2\n")

	var files [][]byte
	for _, dir := range []string{plain, bomCRLF, semi} {
		mm := *m
		mm.EntityTypes = append([]entitytype.EntityType(nil), m.EntityTypes...)
		if dir == semi {
			mm.EntityTypes[0].Separator = ";"
		}
		ext := connector.Folder{Dir: dir, Model: &mm}
		p, err := idsync.Prepare(ctx, &mm, ext, &idsync.PrepareOptions{Dir: t.TempDir()})
		require.NoError(t, err, dir)
		assert.EqualValues(t, 2, p.EntityTypes[0].Prepared, dir)
		data, err := os.ReadFile(filepath.Join(p.Dir, p.EntityTypes[0].File))
		require.NoError(t, err)
		files = append(files, data)
	}
	assert.Equal(t, files[0], files[1], "BOM and CRLF change nothing")
	assert.Equal(t, files[0], files[2], "a ';' separator changes nothing")
}

func TestErrorReportContent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := open(sabModel())
	body := "ID,Name,HireDate,Active,Org\n" +
		"U1,Ann,02/01/2024,Y,O1\n" +
		",Nobody,02/01/2024,Y,O1\n" + // line 3: null key
		"U2,Bob,31/02/2024,Y,O1\n" + // line 4: invalid date
		"U3,Cid,02/01/2024,Y,O1\n" + // line 5: duplicate
		"U3,Cyd,02/01/2024,Y,O1\n" + // line 6: duplicate
		"U4,Dan,02/01/2024,Y,O9\n" // line 7: unknown org
	files := map[string]string{
		"SAB_User.csv": body, "SAB_Org.csv": "Code,Label\nO1,Sales\n", "SAB_Group.csv": "GroupID,Name\nG1,All\n",
		"SAB_Members.csv": "GroupID,UserID\nG1,U1\nG1,U3\nG1,U7\nG1,U1\n",
	}
	for f, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(b), 0o644))
	}
	p, err := idsync.Prepare(ctx, m, connector.Folder{Dir: dir, Model: m}, &idsync.PrepareOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	f, err := os.Open(p.Report.CSV)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"file", "line", "entityType", "key", "column", "code", "message", "raw"}, rows[0])
	got := map[string][]string{}
	for _, r := range rows[1:] {
		got[r[1]+"/"+r[2]] = r
	}
	userFile := filepath.Join(dir, "SAB_User.csv")
	assert.Equal(t, []string{userFile, "3", "SAB_User", "", "id", "nullKey"}, got["3/SAB_User"][:6])
	assert.Equal(t, []string{userFile, "4", "SAB_User", "U2", "HireDate", "invalidValue"}, got["4/SAB_User"][:6])
	assert.Equal(t, "31/02/2024", got["4/SAB_User"][7])
	assert.Contains(t, got["4/SAB_User"][6], "dd/MM/yyyy")
	assert.Equal(t, "duplicateKey", got["5/SAB_User"][5])
	assert.Equal(t, "duplicateKey", got["6/SAB_User"][5])
	assert.Equal(t, []string{"U4", "Org", "missingReference"}, got["7/SAB_User"][3:6])
	assert.Equal(t, "O9", got["7/SAB_User"][7])
	assert.Equal(t, "rejectedEnd", got["3/SAB_Members"][5], "U3 was rejected")
	assert.Equal(t, "missingReference", got["4/SAB_Members"][5], "U7 does not exist")
	assert.Equal(t, "duplicateLink", got["5/SAB_Members"][5])

	rej, err := idsync.ReadReport(p.Report.JSONL)
	require.NoError(t, err)
	assert.Len(t, rej, len(rows)-1, "both forms hold the same rows")
	u := p.EntityTypes[0]
	assert.EqualValues(t, 7-1, u.Read)
	assert.EqualValues(t, 1, u.Prepared)
}

func TestPreviousSnapshotKeptUntilSuccess(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	m := open(sabModel())
	conn := memconn.New(m)
	day1(conn)
	_, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)

	// A blocked incremental run leaves the previous snapshot alone.
	m.EntityTypes[0].Thresholds.MaxDeleted = threshold.Max(0)
	m.Thresholds.MaxDeleted = threshold.Max(1)
	conn.Set("SAB_User", userHeader, []string{"U1", "Ann", "02/01/2024", "Y", "O1"})
	run, err := eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.ErrorIs(t, err, idsync.ErrBlocked)
	_, err = eng.Cancel(ctx, run.ID, nil)
	require.NoError(t, err)

	// A failed run (a missing column) leaves it alone too.
	conn.Set("SAB_User", []string{"ID"}, []string{"U1"})
	_, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.Error(t, err)

	// The next incremental run still diffs against day 1: U2 and U3 go.
	m.Thresholds = open(sabModel()).Thresholds
	conn.Set("SAB_User", userHeader, []string{"U1", "Ann", "02/01/2024", "Y", "O1"})
	run, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	assert.EqualValues(t, 2, run.EntityTypes[0].Deleted)
	assert.Equal(t, 1, store.Count("SAB_User"))

	// After that success the previous snapshot is the new one: U4 comes.
	conn.Set("SAB_User", userHeader, []string{"U1", "Ann", "02/01/2024", "Y", "O1"}, []string{"U4", "Dee", "02/01/2024", "Y", "O1"})
	run, err = eng.Run(ctx, conn, &idsync.RunOptions{Mode: idsync.Incremental})
	require.NoError(t, err)
	u := run.EntityTypes[0]
	assert.Equal(t, [3]int64{1, 0, 0}, [3]int64{u.Inserted, u.Updated, u.Deleted})
}

func TestDroppedReferenceKeepsTheRow(t *testing.T) {
	ctx := context.Background()
	eng, store := newEngine(t)
	m := open(sabModel())
	m.EntityTypes[0].Properties[4].OnMissing = entitytype.Drop
	m.Associations[0].OnMissing = entitytype.Drop
	conn := memconn.New(m)
	day1(conn)
	conn.Set("SAB_User", userHeader,
		[]string{"U1", "Ann", "02/01/2024", "Y", "O9"}, // unknown org: dropped
		[]string{"U2", "Bob", "15/03/2020", "N", "O1"},
	)
	conn.Set("SAB_Members", []string{"GroupID", "UserID"}, []string{"G1", "U1"}, []string{"G1", "U7"})
	run, err := eng.Run(ctx, conn, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 0, run.EntityTypes[0].Rejected, "a dropped link rejects no row")
	assert.Equal(t, map[string]string{"id": "U1", "name": "Ann", "hireDate": "2024-01-02", "active": "true"}, store.Get("SAB_User", "U1"))
	assert.Equal(t, "O1", store.Get("SAB_User", "U2")["org"])
	assert.True(t, store.HasLink("SAB_Members", "G1", "U1"))
	assert.Equal(t, 1, store.LinkCount("SAB_Members"), "the link to U7 is dropped")
	rej, err := idsync.ReadReport(filepath.Join(run.Dir(), "prepared", idsync.ReportJSONL))
	require.NoError(t, err)
	var codes []idsync.Reason
	for _, r := range rej {
		codes = append(codes, r.Code)
	}
	assert.ElementsMatch(t, []idsync.Reason{idsync.DroppedReference, idsync.DroppedReference}, codes)
}
