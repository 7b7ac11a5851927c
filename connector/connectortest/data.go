package connectortest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/threshold"
)

// The names of the kit's connector, tables and command column.
const (
	kitName   = "Kit"
	userType  = "Kit_User"
	groupType = "Kit_Group"
	members   = "Kit_Members"
	managers  = "Kit_Managers"
	opColumn  = CommandColumn
)

// CommandColumn is the column that holds each row's command in the
// changes the kit gives a [ChangeSetter].
const CommandColumn = "Op"

// tableNames are the kit's tables, in the order the kit checks them.
var tableNames = []string{userType, groupType, members, managers}

// The headers of the kit's tables: the columns that its model maps, in the
// model's order, so that a connector building its header from the model
// (an API connector) has the same.
var (
	userHeader    = []string{"ID", "Login", "Display Name", "Prénom", "Note", "HireDate", "Active"}
	groupHeader   = []string{"GroupID", "Name"}
	memberHeader  = []string{"GroupID", "UserID"}
	managerHeader = []string{"UserID", "ManagerID"}
)

// keyColumns are the columns that identify a row of each table.
var keyColumns = map[string][]string{
	userType:  {"ID"},
	groupType: {"GroupID"},
	members:   {"GroupID", "UserID"},
	managers:  {"UserID", "ManagerID"},
}

// newModel returns the kit's model with every threshold off. It describes
// properties only: one model serves complete and incremental exports.
func newModel() *entitytype.Model {
	m := &entitytype.Model{
		Name:       kitName,
		Thresholds: threshold.Off(),
		EntityTypes: []entitytype.EntityType{
			{Name: userType, Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "login", Column: "Login"},
				{Name: "displayName", Column: "Display Name"},
				{Name: "firstName", Column: "Prénom"},
				{Name: "note", Column: "Note"},
				{Name: "hireDate", Column: "HireDate", Type: entitytype.Date, Format: "dd/MM/yyyy"},
				{Name: "active", Column: "Active", Type: entitytype.Bool},
			}},
			{Name: groupType, Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "GroupID"},
				{Name: "name", Column: "Name"},
			}},
		},
		Associations: []entitytype.Association{{
			Name:   members,
			Source: entitytype.End{EntityType: groupType, Column: "GroupID"},
			Target: entitytype.End{EntityType: userType, Column: "UserID"},
		}, {
			Name:   managers,
			Source: entitytype.End{EntityType: userType, Column: "UserID"},
			Target: entitytype.End{EntityType: userType, Column: "ManagerID"},
		}},
	}
	return m
}

// user is one row of the users table, as raw values.
type user struct {
	id, login, display, first, note, hireDate, active string
}

func (u user) row() []string {
	return []string{u.id, u.login, u.display, u.first, u.note, u.hireDate, u.active}
}

// canonical returns the properties that the store holds for u: canonical
// values, without nulls.
func (u user) canonical() map[string]string {
	m := map[string]string{"id": u.id, "login": u.login, "displayName": u.display,
		"firstName": u.first, "note": u.note, "active": canonicalBool(u.active)}
	if d := u.hireDate; d != "" { // dd/MM/yyyy
		m["hireDate"] = d[6:10] + "-" + d[3:5] + "-" + d[0:2]
	}
	maps.DeleteFunc(m, func(_, v string) bool { return v == "" })
	return m
}

func canonicalBool(s string) string {
	switch strings.ToLower(s) {
	case "y", "yes", "1", "true":
		return "true"
	case "n", "no", "0", "false":
		return "false"
	}
	return ""
}

// link is one row of the members table.
type link struct{ group, user string }

// dataset is the content of a managed system.
type dataset struct {
	users    []user
	groups   [][2]string // id, name
	links    []link
	managers [][2]string // user, manager; none at first: a table without rows
}

// baseData returns the data that the kit puts in managed systems, whose
// longest value is maxLen bytes long (0 for 100 KiB).
func baseData(maxLen int) dataset {
	if maxLen <= 0 || maxLen > 100<<10 {
		maxLen = 100 << 10
	}
	return dataset{
		users: []user{
			{"U01", "ann", "Ann Smith", "Ann", "plain value", "02/01/2024", "Y"},
			{"U02", "bob", "Smith, Bob", "Bob", `He said "hi", then left`, "15/03/2020", "N"},
			{"U03", "cid", "  padded both  ", " lead", "line 1\nline 2\n\nline 4", "01/12/2019", "1"},
			{"U04", "dée", "Zoë Ünïcødé — 日本語 👩‍💻", "Zoë", "", "", ""},
			{"U05", "007", "\"Quoted\" name, with comma\nand newline", "trail ", longValue(maxLen), "29/02/2024", "yes"},
			{"U06", "eve", "=1+1", "'apostrophe", "tab\tinside; semicolon", "31/12/1999", "false"},
			{"U07", "fay", "   ", "\u00a0nbsp\u00a0", "ends with a newline\n", "01/01/2000", "0"},
		},
		groups: [][2]string{
			{"G1", "All users"},
			{"G2", `Admins, "root"`},
			{"G3", "Empty group"},
			{"G4", "Ünïcødé グループ"},
		},
		links: []link{
			{"G1", "U01"}, {"G1", "U02"}, {"G1", "U03"}, {"G1", "U04"}, {"G1", "U05"}, {"G1", "U06"}, {"G1", "U07"},
			{"G2", "U03"}, {"G2", "U05"},
			{"G4", "U04"},
		},
	}
}

// longValue returns an ASCII value of n bytes made of numbered lines
// holding quotes and commas, so that a value cut or shifted shows where.
func longValue(n int) string {
	var b strings.Builder
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %05d: \"quoted\", comma\n", i)
	}
	return b.String()[:n]
}

var (
	newUser  = user{"U08", "hal", "Hal, new", "Hal", "new user", "05/05/2025", "y"}
	newGroup = [2]string{"G5", `New "group"`}
)

// changedData returns d changed as the managed system changes between two
// exports: a user updated, one deleted, one inserted, a group renamed,
// links deleted and inserted.
func changedData(d dataset) dataset {
	d = d.clone()
	d.users[0].display = "Ann Smith-Jones"
	d.users = slices.DeleteFunc(d.users, func(u user) bool { return u.id == "U07" })
	d.users = append(d.users, newUser)
	d.groups[2][1] = "Renamed group"
	d.links = slices.DeleteFunc(d.links, func(l link) bool { return l.user == "U07" })
	d.links = append(d.links, link{"G3", "U08"})
	d.managers = append(d.managers, [2]string{"U03", "U01"}, [2]string{"U08", "U01"})
	return d
}

// changes returns the changes of an incremental export from d, with a
// command column, and the data once they are applied.
func changes(d dataset) (map[string]Table, dataset) {
	after := d.clone()
	u1 := after.users[0]
	u1.display = "Ann Smith-Jones"
	u3 := after.users[2]
	u3.note = "line 1\nchanged"
	after.users[0], after.users[2] = u1, u3
	after.users = slices.DeleteFunc(after.users, func(u user) bool { return u.id == "U02" })
	after.users = append(after.users, newUser)
	after.groups = append(after.groups, newGroup)
	after.links = slices.DeleteFunc(after.links, func(l link) bool { return l.user == "U02" })
	after.links = append(after.links, link{"G5", "U08"}, link{"G2", "U01"})

	op := func(op string, row []string) []string { return append([]string{op}, row...) }
	tables := map[string]Table{
		userType: {Header: op(opColumn, userHeader), Rows: [][]string{
			op("update", u1.row()),
			op("delete", user{id: "U02"}.row()),
			op("insert", newUser.row()),
			op("merge", u3.row()),
		}},
		groupType: {Header: op(opColumn, groupHeader), Rows: [][]string{
			op("insert", newGroup[:]),
		}},
		members: {Header: op(opColumn, memberHeader), Rows: [][]string{
			{"delete", "G1", "U02"},
			{"insert", "G5", "U08"},
			{"insert", "G2", "U01"},
		}},
		managers: {Header: op(opColumn, managerHeader)},
	}
	return tables, after
}

func (d dataset) clone() dataset {
	return dataset{users: slices.Clone(d.users), groups: slices.Clone(d.groups), links: slices.Clone(d.links), managers: slices.Clone(d.managers)}
}

// tables returns d as the tables of a managed system.
func (d dataset) tables() map[string]Table {
	users := Table{Header: slices.Clone(userHeader)}
	for _, u := range d.users {
		users.Rows = append(users.Rows, u.row())
	}
	groups := Table{Header: slices.Clone(groupHeader)}
	for _, g := range d.groups {
		groups.Rows = append(groups.Rows, []string{g[0], g[1]})
	}
	links := Table{Header: slices.Clone(memberHeader)}
	for _, l := range d.links {
		links.Rows = append(links.Rows, []string{l.group, l.user})
	}
	mgrs := Table{Header: slices.Clone(managerHeader)}
	for _, m := range d.managers {
		mgrs.Rows = append(mgrs.Rows, []string{m[0], m[1]})
	}
	return map[string]Table{userType: users, groupType: groups, members: links, managers: mgrs}
}

// cloneTables returns a deep copy of tables, so that a harness modifying
// what it is given disturbs nothing.
func cloneTables(tables map[string]Table) map[string]Table {
	out := make(map[string]Table, len(tables))
	for name, t := range tables {
		c := Table{Header: slices.Clone(t.Header), Rows: make([][]string, len(t.Rows))}
		for i, r := range t.Rows {
			c.Rows[i] = slices.Clone(r)
		}
		out[name] = c
	}
	return out
}
