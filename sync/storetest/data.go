package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/threshold"
)

// The connectors of the kit.
const (
	connA = "KitA" // people: every kind of value, composite keys, two associations
	connB = "KitB" // generated volume
	connS = "KitS" // keys that sort differently under a collation
	connX = "KitX" // writes KitS_Key too
)

// offLimits turns every connector-level threshold off, so that runs apply.
func offLimits() threshold.Limits {
	return threshold.Off()
}

func modelA() *entitytype.Model {
	return &entitytype.Model{
		Name:       connA,
		Thresholds: offLimits(),
		EntityTypes: []entitytype.EntityType{
			{Name: "KitA_User", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "name", Column: "Name"},
				{Name: "mail", Column: "Mail"},
				{Name: "hired", Column: "Hired", Type: entitytype.Date},
				{Name: "active", Column: "Active", Type: entitytype.Bool},
				{Name: "score", Column: "Score", Type: entitytype.Int},
				{Name: "tags", Column: "Tags", MultiValued: true},
				{Name: "org", Column: "Org", Type: entitytype.Ref, Target: "KitA_Org"},
				{Name: "note", Column: "Note"},
			}},
			{Name: "KitA_Org", Key: []string{"code"}, Properties: []entitytype.Property{
				{Name: "code", Column: "Code"},
				{Name: "label", Column: "Label"},
			}},
			{Name: "KitA_Account", Key: []string{"system", "login"}, Properties: []entitytype.Property{
				{Name: "system", Column: "System"},
				{Name: "login", Column: "Login"},
				{Name: "owner", Column: "Owner", Type: entitytype.Ref, Target: "KitA_User"},
			}},
		},
		Associations: []entitytype.Association{
			{Name: "KitA_Members",
				Source: entitytype.End{EntityType: "KitA_Org", Column: "Org"},
				Target: entitytype.End{EntityType: "KitA_User", Column: "User"}},
			{Name: "KitA_Owns",
				Source: entitytype.End{EntityType: "KitA_Account", Column: "Account"},
				Target: entitytype.End{EntityType: "KitA_User", Column: "User"}},
		},
	}
}

// modelAUsersOnly maps a subset of KitA_User's properties, and nothing
// else of connector A: the mapping of a host that covers less than its
// store holds.
func modelAUsersOnly() *entitytype.Model {
	full := modelA()
	u := full.EntityTypes[0]
	u.Properties = []entitytype.Property{u.Properties[0], u.Properties[5], u.Properties[1]} // id, score, name
	return &entitytype.Model{Name: connA, Thresholds: offLimits(), EntityTypes: []entitytype.EntityType{u}}
}

func modelB() *entitytype.Model {
	return &entitytype.Model{
		Name:       connB,
		Thresholds: offLimits(),
		EntityTypes: []entitytype.EntityType{
			{Name: "KitB_Item", Key: []string{"code"}, Properties: []entitytype.Property{
				{Name: "code", Column: "Code"},
				{Name: "label", Column: "Label"},
				{Name: "size", Column: "Size", Type: entitytype.Int},
			}},
			{Name: "KitB_Bin", Key: []string{"id"}, Properties: []entitytype.Property{
				{Name: "id", Column: "ID"},
				{Name: "name", Column: "Name"},
			}},
		},
		Associations: []entitytype.Association{
			{Name: "KitB_Stored",
				Source: entitytype.End{EntityType: "KitB_Bin", Column: "Bin"},
				Target: entitytype.End{EntityType: "KitB_Item", Column: "Item"}},
		},
	}
}

func modelS() *entitytype.Model {
	return &entitytype.Model{
		Name:       connS,
		Thresholds: offLimits(),
		EntityTypes: []entitytype.EntityType{
			{Name: "KitS_Key", Key: []string{"k"}, Properties: []entitytype.Property{
				{Name: "k", Column: "K"},
				{Name: "v", Column: "V"},
			}},
			{Name: "KitS_Pair", Key: []string{"a", "b"}, Properties: []entitytype.Property{
				{Name: "a", Column: "A"},
				{Name: "b", Column: "B"},
				{Name: "v", Column: "V"},
			}},
		},
		Associations: []entitytype.Association{
			{Name: "KitS_Link",
				Source: entitytype.End{EntityType: "KitS_Key", Column: "From"},
				Target: entitytype.End{EntityType: "KitS_Key", Column: "To"}},
		},
	}
}

// modelX is a second connector writing KitS_Key, as two connectors
// sharing an entity type would: its plans conflict with KitS's writes
// without its fingerprint changing.
func modelX() *entitytype.Model {
	return &entitytype.Model{Name: connX, Thresholds: offLimits(), EntityTypes: modelS().EntityTypes[:1]}
}

// kitTypes and kitAssocs index the entity types and associations of
// Models: the full property order of every entity type the kit writes.
var kitTypes, kitAssocs = func() (map[string]*entitytype.EntityType, map[string]*entitytype.Association) {
	ts, as := map[string]*entitytype.EntityType{}, map[string]*entitytype.Association{}
	for _, m := range Models() {
		for i := range m.EntityTypes {
			ts[m.EntityTypes[i].Name] = &m.EntityTypes[i]
		}
		for i := range m.Associations {
			as[m.Associations[i].Name] = &m.Associations[i]
		}
	}
	return ts, as
}()

// table is one extraction table: a header and rows.
type table struct {
	header []string
	rows   [][]string
}

// dataset is the content of a managed system: tables by entity type or
// association name.
type dataset map[string]table

// load sets every table of d in c.
func (d dataset) load(c *memconn.Connector) {
	for name, t := range d {
		c.Set(name, t.header, t.rows...)
	}
}

func (d dataset) clone() dataset {
	out := dataset{}
	for name, t := range d {
		rows := make([][]string, len(t.rows))
		for i, r := range t.rows {
			rows[i] = slices.Clone(r)
		}
		out[name] = table{slices.Clone(t.header), rows}
	}
	return out
}

// with returns a copy of d where the row of table name whose first column
// is key has column col set to v (the row is added if key is new, with
// empty cells).
func (d dataset) with(name, key, col, v string) dataset {
	out := d.clone()
	t := out[name]
	c := slices.Index(t.header, col)
	if c < 0 {
		panic("storetest: no column " + col + " in " + name)
	}
	for _, r := range t.rows {
		if r[0] == key {
			r[c] = v
			return out
		}
	}
	r := make([]string, len(t.header))
	r[0], r[c] = key, v
	t.rows = append(t.rows, r)
	out[name] = t
	return out
}

// plus returns a copy of d with rows added to table name.
func (d dataset) plus(name string, rows ...[]string) dataset {
	out := d.clone()
	t := out[name]
	t.rows = append(t.rows, rows...)
	out[name] = t
	return out
}

// longValue is over 64 KiB, so that a store limiting a value's length to
// a 16-bit count or to a short column type fails.
var longValue = strings.Repeat("0123456789 abcdé-", 4200) + "end"

var userHeader = []string{"ID", "Name", "Mail", "Hired", "Active", "Score", "Tags", "Org", "Note"}

// dataA1 is connector A's first snapshot: nulls, unicode, keys that differ
// in case or by a trailing space, a key with a comma and one with a quote,
// values with quotes, commas, CR/LF, tabs, SQL and a long value.
func dataA1() dataset {
	return dataset{
		"KitA_User": {userHeader, [][]string{
			{"u1", "Ann", "ann@example.com", "2024-01-02", "true", "42", "b|a", "O1", `He said "hi", then left`},
			{"u2", "Zoë Ünïcødé 日本語 🙂", "zoe@example.com", "1999-12-31", "false", "-7", "x", "O2", "line1\nline2\r\nline3"},
			{"U2", "Upper", "", "", "", "", "", "", ""},
			{"u3", "", "", "", "", "", "", "", ""},
			{"u4", "Long", "", "", "", "", "", "", longValue},
			{"u5,x", "Comma, Key", "", "", "", "9223372036854775807", "", "", "a,b,,c"},
			{`q"6`, "O'Quote", "", "", "", "", "", "O3", `'; DROP TABLE users; --`},
			{"u7 ", " padded ", "", "", "", "", "", "", "tab\there\\back%_*"},
			{"u7", "No space", "", "", "", "", "", "", "\u00a0nbsp\u200bzwsp"},
			{"日本", "Key in kanji", "", "", "", "", "p|q|r", "", ""},
		}},
		"KitA_Org": {[]string{"Code", "Label"}, [][]string{
			{"O1", "Sales"},
			{"O2", `IT, "Ops"`},
			{"O3", "Line\nBreak"},
		}},
		"KitA_Account": {[]string{"System", "Login", "Owner"}, [][]string{
			{"ad", "ann", "u1"},
			{"ad", "Ann", "u1"},
			{"ldap", "ann", ""},
			{"ad", "a b", "u2"},
		}},
		"KitA_Members": {[]string{"Org", "User"}, [][]string{
			{"O1", "u1"}, {"O1", "u2"}, {"O2", "u2"}, {"O2", "U2"}, {"O3", "u3"}, {"O1", "u7 "}, {"O1", "u7"},
		}},
		"KitA_Owns": {[]string{"Account", "User"}, [][]string{
			{"ad" + entitytype.KeySep + "ann", "u1"},
			{"ldap" + entitytype.KeySep + "ann", "u1"},
			{"ad" + entitytype.KeySep + "a b", "u2"},
		}},
	}
}

// dataA2 is connector A's second snapshot: updates of some properties
// (value to value, value to null, null to value, the end of the long
// value), deletes, inserts, link inserts and deletes.
func dataA2() dataset {
	return dataset{
		"KitA_User": {userHeader, [][]string{
			{"u1", "Anne", "ann@example.com", "2024-01-02", "true", "42", "c|a", "O1", ""},
			{"U2", "Upper", "upper@example.com", "2020-02-29", "true", "0", "", "O2", ""},
			{"u3", "", "", "", "", "", "", "", ""},
			{"u4", "Long", "", "", "", "", "", "", longValue + "!"},
			{"u5,x", "Comma, Key", "", "", "", "9223372036854775807", "", "", "a,b,,c"},
			{"u7 ", " padded ", "", "", "", "", "", "", "tab\there\\back%_*"},
			{"u7", "No Space", "", "", "", "", "", "", "\u00a0nbsp\u200bzwsp"},
			{"日本", "Key in kanji", "", "", "", "", "p|q|r", "", ""},
			{"u8", "Ünsal", "u8@example.com", "2025-06-30", "false", "-1", "", "O2", "new"},
			{"ü9", longValue, "", "", "", "", "", "O4", "\r\n"},
		}},
		"KitA_Org": {[]string{"Code", "Label"}, [][]string{
			{"O1", "Sales & Marketing"},
			{"O2", `IT, "Ops"`},
			{"O4", "Nouvelle\u00a0Org"},
		}},
		"KitA_Account": {[]string{"System", "Login", "Owner"}, [][]string{
			{"ad", "ann", "u8"},
			{"ldap", "ann", ""},
			{"ldap", "bob", "u8"},
		}},
		"KitA_Members": {[]string{"Org", "User"}, [][]string{
			{"O1", "u1"}, {"O2", "u1"}, {"O2", "U2"}, {"O1", "u8"}, {"O1", "u7 "}, {"O4", "u7"},
		}},
		"KitA_Owns": {[]string{"Account", "User"}, [][]string{
			{"ad" + entitytype.KeySep + "ann", "u1"},
			{"ldap" + entitytype.KeySep + "bob", "u8"},
		}},
	}
}

// dataAUsersOnly is a snapshot for modelAUsersOnly: u1 renamed, U2 scored,
// u3 gone, u10 new.
func dataAUsersOnly() dataset {
	return dataset{
		"KitA_User": {[]string{"Name", "ID", "Score"}, [][]string{ // another column order
			{"Ann Reduced", "u1", "42"},
			{"Zoë Ünïcødé 日本語 🙂", "u2", "-7"},
			{"Upper", "U2", "5"},
			{"Long", "u4", ""},
			{"Comma, Key", "u5,x", "9223372036854775807"},
			{"O'Quote", `q"6`, ""},
			{" padded ", "u7 ", ""},
			{"No space", "u7", ""},
			{"Key in kanji", "日本", ""},
			{"Ten", "u10", "10"},
		}},
	}
}

// dataB is a generated snapshot of connector B: n items (version 1), or
// version 2 of them: a third deleted, a third relabelled and moved to
// another bin, n/3 new.
func dataB(n, version int) dataset {
	items := table{header: []string{"Code", "Label", "Size"}}
	links := table{header: []string{"Bin", "Item"}}
	bins := table{header: []string{"ID", "Name"}}
	const nbins = 20
	for b := range nbins {
		bins.rows = append(bins.rows, []string{fmt.Sprintf("bin-%02d", b), fmt.Sprintf("Bin %d", b)})
	}
	add := func(i int, label string, bin int) {
		code := fmt.Sprintf("item-%06d", i)
		items.rows = append(items.rows, []string{code, label, fmt.Sprint(i)})
		links.rows = append(links.rows, []string{fmt.Sprintf("bin-%02d", bin%nbins), code})
	}
	for i := range n {
		switch {
		case version == 1 || i%3 == 2:
			add(i, fmt.Sprintf("Item %d", i), i)
		case i%3 == 1:
			add(i, fmt.Sprintf("Item %d, v2", i), i+1)
		}
	}
	if version > 1 {
		for i := n; i < n+n/3; i++ {
			add(i, fmt.Sprintf("Item %d", i), i)
		}
	}
	return dataset{"KitB_Item": items, "KitB_Bin": bins, "KitB_Stored": links}
}

// sortKeys are keys whose bytewise order differs from most collations':
// letter case, accents, a decomposed accent, prefixes, the key separator,
// spaces, digits, a private-use character that UTF-16 orders after an emoji.
var sortKeys = []string{
	"a", "a" + entitytype.KeySep + "b", "ab", "a b", "a ", " a", "A", "B", "b", "Z", "z",
	"é", "e", "f", "ü", "u\u0308", "10", "9", "~", "\x7f", "日本", "🙂", "\ue000", "ß", "ss", "İ", "i",
}

// dataS1 is connector S's first snapshot; dataS2 adds keys between the
// stored ones and deletes some.
func dataS1() dataset {
	keys := table{header: []string{"K", "V"}}
	for i, k := range sortKeys {
		keys.rows = append(keys.rows, []string{k, fmt.Sprint(i)})
	}
	pairs := table{header: []string{"A", "B", "V"}, rows: [][]string{
		{"a", "b", "1"}, {"a b", "x", "2"}, {"ab", "c", "3"}, {"a", "a", "4"}, {"A", "z", "5"},
		{"é", "1", "6"}, {"e", "é", "7"}, {"a", "B", "8"}, {"a", "b ", "9"},
	}}
	links := table{header: []string{"From", "To"}, rows: [][]string{
		{"a", "ab"}, {"a", "a b"}, {"a", "z"}, {"a b", "a"}, {"a" + entitytype.KeySep + "b", "a"},
		{"ab", "a"}, {"A", "a"}, {"é", "e"}, {"e", "é"}, {"🙂", "\ue000"}, {"\ue000", "🙂"}, {"u\u0308", "ü"},
	}}
	return dataset{"KitS_Key": keys, "KitS_Pair": pairs, "KitS_Link": links}
}

func dataS2() dataset {
	d := dataS1()
	keys := d["KitS_Key"]
	keys.rows = slices.DeleteFunc(keys.rows, func(r []string) bool { return r[0] == "Z" || r[0] == "ß" })
	for _, k := range []string{"aa", "ac", "a!", "Ab", "é!", "\U0001F600"} {
		keys.rows = append(keys.rows, []string{k, "new"})
	}
	d["KitS_Key"] = keys
	links := d["KitS_Link"]
	links.rows = append(links.rows, []string{"aa", "a"}, []string{"a", "aa"}, []string{"a", "a!"})
	d["KitS_Link"] = links
	return d
}

// state is the content of a store, as the kit expects or scans it:
// resources by entity type and key, with their values in the property
// order of the entity type of Models, and links by association.
type state struct {
	res   map[string]map[string][]string
	links map[string]map[idsync.Link]bool
}

// emptyState holds every entity type and association of Models, empty.
func emptyState() state {
	s := state{res: map[string]map[string][]string{}, links: map[string]map[idsync.Link]bool{}}
	for name := range kitTypes {
		s.res[name] = map[string][]string{}
	}
	for name := range kitAssocs {
		s.links[name] = map[idsync.Link]bool{}
	}
	return s
}

func (s state) clone() state {
	out := state{res: map[string]map[string][]string{}, links: map[string]map[idsync.Link]bool{}}
	for name, rs := range s.res {
		out.res[name] = maps.Clone(rs)
	}
	for name, ls := range s.links {
		out.links[name] = maps.Clone(ls)
	}
	return out
}

// after returns the state that a complete run of model m on data d leaves
// in a store that held s: the keys of d are inserted or get the values of
// the properties that m maps (the others are kept, or null when
// inserted), the other keys of m's entity types are deleted, and m's
// associations hold exactly the links of d.
func (s state) after(m *entitytype.Model, d dataset) state {
	out := s.clone()
	for i := range m.EntityTypes {
		t := &m.EntityTypes[i]
		full := kitTypes[t.Name]
		pos := make([]int, len(t.Properties))
		for j, p := range t.Properties {
			pos[j] = slices.IndexFunc(full.Properties, func(q entitytype.Property) bool { return q.Name == p.Name })
		}
		old, next := s.res[t.Name], map[string][]string{}
		for _, row := range d[t.Name].rows {
			key, vals := record(t, d[t.Name].header, row)
			rec := slices.Clone(old[key])
			if rec == nil {
				rec = make([]string, len(full.Properties))
			}
			for j, v := range vals {
				rec[pos[j]] = v
			}
			next[key] = rec
		}
		out.res[t.Name] = next
	}
	for _, a := range m.Associations {
		ls := map[idsync.Link]bool{}
		tb := d[a.Name]
		src, tgt := slices.Index(tb.header, a.Source.Column), slices.Index(tb.header, a.Target.Column)
		for _, row := range tb.rows {
			ls[idsync.Link{Source: row[src], Target: row[tgt]}] = true
		}
		out.links[a.Name] = ls
	}
	return out
}

// record converts a row of t's table to its key and canonical values, as
// Prepare does, with the library's own converters.
func record(t *entitytype.EntityType, header, row []string) (string, []string) {
	vals := make([]string, len(t.Properties))
	for j := range t.Properties {
		p := &t.Properties[j]
		c, err := entitytype.NewConverter(p)
		if err != nil {
			panic(fmt.Sprintf("storetest: %s.%s: %v", t.Name, p.Name, err))
		}
		i := slices.Index(header, p.Column)
		if i < 0 {
			panic(fmt.Sprintf("storetest: %s: no column %s", t.Name, p.Column))
		}
		if vals[j], err = c.Convert(row[i]); err != nil {
			panic(fmt.Sprintf("storetest: %s: %v", t.Name, err))
		}
	}
	var key []string
	for _, k := range t.Key {
		key = append(key, vals[slices.IndexFunc(t.Properties, func(p entitytype.Property) bool { return p.Name == k })])
	}
	return strings.Join(key, entitytype.KeySep), vals
}

// diff describes how got differs from want, one line per difference, at
// most limit lines.
func diff(want, got state, limit int) []string {
	var out []string
	add := func(format string, args ...any) {
		out = append(out, fmt.Sprintf(format, args...))
	}
	for _, name := range slices.Sorted(maps.Keys(want.res)) {
		w, g := want.res[name], got.res[name]
		props := kitTypes[name].Properties
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gv, ok := g[k]
			if !ok {
				add("%s: resource %s is missing (want %s)", name, show(k), showRecord(props, w[k]))
				continue
			}
			for j, p := range props {
				if j < len(gv) && gv[j] != w[k][j] {
					add("%s %s: %s = %s, want %s", name, show(k), p.Name, show(gv[j]), show(w[k][j]))
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				add("%s: unexpected resource %s = %s", name, show(k), showRecord(props, g[k]))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want.links)) {
		w, g := want.links[name], got.links[name]
		for _, l := range sortedLinks(w) {
			if !g[l] {
				add("%s: link %s → %s is missing", name, show(l.Source), show(l.Target))
			}
		}
		for _, l := range sortedLinks(g) {
			if !w[l] {
				add("%s: unexpected link %s → %s", name, show(l.Source), show(l.Target))
			}
		}
	}
	if len(out) > limit {
		n := len(out) - limit
		out = append(out[:limit], fmt.Sprintf("... and %d more differences", n))
	}
	return out
}

func sortedLinks(ls map[idsync.Link]bool) []idsync.Link {
	return slices.SortedFunc(maps.Keys(ls), compareLinks)
}

func compareLinks(x, y idsync.Link) int {
	if c := strings.Compare(x.Source, y.Source); c != 0 {
		return c
	}
	return strings.Compare(x.Target, y.Target)
}

// show quotes a key or value for a message, shortening long ones.
func show(v string) string {
	if len(v) > 60 {
		return fmt.Sprintf("%q...(%d bytes)", v[:40], len(v))
	}
	return fmt.Sprintf("%q", v)
}

func showRecord(props []entitytype.Property, vals []string) string {
	var b strings.Builder
	b.WriteString("{")
	for j, p := range props {
		if j < len(vals) && vals[j] != "" {
			if b.Len() > 1 {
				b.WriteString(", ")
			}
			b.WriteString(p.Name + ": " + show(vals[j]))
		}
	}
	b.WriteString("}")
	return b.String()
}
