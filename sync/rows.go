package sync

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/rec"
)

// rejection says why a row is left out, for the error report.
type rejection struct {
	reason  Reason
	key     string // the row's key when known
	column  string
	raw     string
	message string
	// protect are the keys to protect although the row is rejected: the
	// stored resource, or the stored links of a link end, are kept as
	// they are.
	protect []string
}

// column is how one property gets its raw value.
type column struct {
	index int // header index, or -1 for an expression
	expr  *entitytype.Expression
	args  []int    // header indexes of the expression's columns
	vals  []string // reused argument buffer
	conv  *entitytype.Converter
	name  string // header name, or the expression text, for reports
}

// rowMapper turns the rows of an entity type's table into keys and
// canonical values. It is not safe for concurrent use.
type rowMapper struct {
	t       *entitytype.EntityType
	cols    []column
	keyIdx  []int  // property index of each key part
	order   []int  // property indexes, key parts first
	cmdCol  int    // header index of the command column, or -1
	command string // its name
	vals    []string
	keyBuf  strings.Builder
}

// newRowMapper locates the columns of t (and the extra ones, returned by
// name) in a table's header, reporting every missing column at once, and
// builds the converters and expressions. The mapped columns are located
// before the expressions compile: an expression that reads a missing
// column fails because of it, and the missing column is what to report.
// command is the table's command column (connector.CommandColumn), or ""
// for a snapshot.
func newRowMapper(t *entitytype.EntityType, source string, header, extra []string, command string) (*rowMapper, map[string]int, error) {
	m := &rowMapper{t: t, cols: make([]column, len(t.Properties)), cmdCol: -1, command: command, vals: make([]string, len(t.Properties))}
	needed := slices.Clone(extra)
	for j := range t.Properties {
		prop := &t.Properties[j]
		conv, err := entitytype.NewConverter(prop)
		if err != nil {
			return nil, nil, fmt.Errorf("property %s: %w", prop.Name, err)
		}
		m.cols[j] = column{index: -1, conv: conv, name: prop.Column}
		if prop.Column != "" {
			needed = append(needed, prop.Column)
		}
	}
	if command != "" {
		needed = append(needed, command)
	}
	if _, err := locate(source, header, needed); err != nil {
		return nil, nil, err
	}
	for j := range t.Properties {
		prop := &t.Properties[j]
		if prop.Expression != "" {
			e, err := entitytype.CompileExpression(prop.Expression, header)
			if err != nil {
				return nil, nil, fmt.Errorf("property %s: %w", prop.Name, err)
			}
			m.cols[j].expr, m.cols[j].name = e, prop.Expression
			needed = append(needed, e.Columns()...)
		}
	}
	idx, err := locate(source, header, needed)
	if err != nil {
		return nil, nil, err
	}
	for j := range t.Properties {
		c := &m.cols[j]
		if t.Properties[j].Column != "" {
			c.index = idx[t.Properties[j].Column]
		}
		if c.expr != nil {
			for _, name := range c.expr.Columns() {
				c.args = append(c.args, idx[name])
			}
			c.vals = make([]string, len(c.args))
		}
	}
	if command != "" {
		m.cmdCol = idx[command]
	}
	for _, name := range t.Key {
		for j := range t.Properties {
			if t.Properties[j].Name == name {
				m.keyIdx = append(m.keyIdx, j)
			}
		}
	}
	m.order = slices.Clone(m.keyIdx)
	for j := range t.Properties {
		if !slices.Contains(m.keyIdx, j) {
			m.order = append(m.order, j)
		}
	}
	return m, idx, nil
}

// mapRow converts one row: its key, its command (Merge for a snapshot
// row) and its canonical values in property order, valid until the next
// call; or why it is rejected. The key is found first, so that every
// rejection but a null or malformed key names it and protects it.
func (m *rowMapper) mapRow(row []string) (key string, op Op, vals []string, rej *rejection) {
	for _, j := range m.order {
		c := &m.cols[j]
		raw := ""
		if c.index >= 0 {
			raw = row[c.index]
		} else if c.expr != nil {
			for k, a := range c.args {
				c.vals[k] = row[a]
			}
			v, err := c.expr.Eval(c.vals)
			if err != nil {
				return m.invalid(j, "", err)
			}
			raw = v
		}
		v, err := c.conv.Convert(raw)
		if err != nil {
			return m.invalid(j, raw, err)
		}
		m.vals[j] = v
	}
	key, null := joinKey(m.vals, m.keyIdx, &m.keyBuf)
	switch {
	case len(m.keyIdx) > 1 && m.sepInKey():
		return "", 0, nil, &rejection{reason: InvalidValue, column: strings.Join(m.t.Key, ","), raw: key,
			message: "a part of the composite key contains the key separator U+001F"}
	case null:
		return "", 0, nil, &rejection{reason: NullKey, column: strings.Join(m.t.Key, ","), message: "the key is empty"}
	case strings.IndexByte(key, 0) >= 0:
		return "", 0, nil, &rejection{reason: InvalidValue, column: strings.Join(m.t.Key, ","), raw: key, message: "the key contains a NUL character"}
	}
	op = Merge
	if m.cmdCol >= 0 {
		o, ok := ParseOp(row[m.cmdCol])
		if !ok {
			return "", 0, nil, &rejection{reason: BadCommand, key: key, column: m.command, raw: row[m.cmdCol],
				message: "unknown command (want insert, update, delete or merge)", protect: []string{key}}
		}
		op = o
	}
	return key, op, m.vals, nil
}

// sepInKey reports whether a part of a composite key holds KeySep, which
// would make the joined key ambiguous.
func (m *rowMapper) sepInKey() bool {
	for _, j := range m.keyIdx {
		if strings.Contains(m.vals[j], entitytype.KeySep) {
			return true
		}
	}
	return false
}

// invalid rejects a row whose value does not convert. Key parts convert
// first, so when they did, the rejection carries the row's key and
// protects the stored resource.
func (m *rowMapper) invalid(j int, raw string, err error) (string, Op, []string, *rejection) {
	r := &rejection{reason: InvalidValue, column: m.cols[j].name, raw: raw, message: err.Error()}
	if !slices.Contains(m.keyIdx, j) {
		if key, null := joinKey(m.vals, m.keyIdx, &m.keyBuf); !null {
			r.key, r.protect = key, []string{key}
		}
	}
	return "", 0, nil, r
}

// joinKey returns the key of a row from its values, and whether a part of
// it is null.
func joinKey(vals []string, keyIdx []int, b *strings.Builder) (key string, null bool) {
	if len(keyIdx) == 1 {
		return vals[keyIdx[0]], vals[keyIdx[0]] == ""
	}
	b.Reset()
	for k, j := range keyIdx {
		if vals[j] == "" {
			return "", true
		}
		if k > 0 {
			b.WriteString(entitytype.KeySep)
		}
		b.WriteString(vals[j])
	}
	return b.String(), false
}

// linkMapper turns the rows of an association's own table into links.
type linkMapper struct {
	a                *entitytype.Association
	src, tgt, cmdCol int
	command          string
	srcConv, tgtConv *entitytype.Converter
}

// newLinkMapper locates the columns of a in a table's header. command is
// the table's command column (connector.CommandColumn), or "" for a
// snapshot.
func newLinkMapper(a *entitytype.Association, source string, header []string, command string, keyConverter func(string) (*entitytype.Converter, error)) (*linkMapper, error) {
	needed := []string{a.Source.Column, a.Target.Column}
	if command != "" {
		needed = append(needed, command)
	}
	idx, err := locate(source, header, needed)
	if err != nil {
		return nil, err
	}
	m := &linkMapper{a: a, src: idx[a.Source.Column], tgt: idx[a.Target.Column], cmdCol: -1, command: command}
	if command != "" {
		m.cmdCol = idx[command]
	}
	if m.srcConv, err = keyConverter(a.Source.EntityType); err != nil {
		return nil, err
	}
	if m.tgtConv, err = keyConverter(a.Target.EntityType); err != nil {
		return nil, err
	}
	return m, nil
}

// mapRow converts one row: the link's source and target keys and its
// command, or why it is rejected. A rejected row protects each end that
// converts: the stored links of that end are kept, since this row might
// have been one of them.
func (m *linkMapper) mapRow(row []string) (src, tgt string, op Op, rej *rejection) {
	src, serr := m.srcConv.Convert(row[m.src])
	tgt, terr := m.tgtConv.Convert(row[m.tgt])
	switch {
	case serr != nil:
		return "", "", 0, &rejection{reason: InvalidValue, key: linkShown(row[m.src], tgt), column: m.a.Source.Column, raw: row[m.src], message: serr.Error(), protect: endKeys(tgtEnd, tgt, terr)}
	case terr != nil:
		return "", "", 0, &rejection{reason: InvalidValue, key: linkShown(src, row[m.tgt]), column: m.a.Target.Column, raw: row[m.tgt], message: terr.Error(), protect: endKeys(srcEnd, src, nil)}
	case src == "" || tgt == "":
		return "", "", 0, &rejection{reason: NullKey, key: linkShown(src, tgt), column: m.a.Source.Column + "," + m.a.Target.Column, message: "a link needs both keys",
			protect: slices.Concat(endKeys(srcEnd, src, nil), endKeys(tgtEnd, tgt, nil))}
	case strings.IndexByte(src, 0) >= 0 || strings.IndexByte(tgt, 0) >= 0:
		return "", "", 0, &rejection{reason: InvalidValue, column: m.a.Source.Column + "," + m.a.Target.Column, message: "a key contains a NUL character"}
	}
	op = Merge
	if m.cmdCol >= 0 {
		o, ok := ParseOp(row[m.cmdCol])
		if !ok || o == Update {
			return "", "", 0, &rejection{reason: BadCommand, key: linkShown(src, tgt), column: m.command, raw: row[m.cmdCol], message: "unknown link command (want insert, delete or merge)",
				protect: []string{srcEnd + src, tgtEnd + tgt}}
		}
		op = o
	}
	return src, tgt, op, nil
}

// linkShown is how the error report names a link.
func linkShown(src, tgt string) string { return src + " → " + tgt }

// appendLink appends a prepared link record: "source\x00target" (the sort
// key), the command and the source line.
func appendLink(dst []byte, src, tgt string, op Op, line int) []byte {
	dst = rec.AppendPair(dst, src, tgt)
	dst = rec.AppendBytes(dst, []byte{byte(op)})
	return rec.AppendUint(dst, uint64(line))
}

// endKeys is the protected key of a link end, if it has one.
func endKeys(side, key string, err error) []string {
	if err != nil || key == "" {
		return nil
	}
	return []string{side + key}
}

// reject adds a rejection to a table's report, and protects its key.
func (t *tableReport) reject(line int, r *rejection) {
	t.add(r.reason, line, r.key, r.column, r.raw, r.message)
	for _, k := range r.protect {
		t.protect(k)
	}
}

// rowReader reads a table's rows, without copying them when the table is
// a connector.BytesTable: the strings of such a row point into the table's
// buffer and are only valid until the next read, so whatever outlives the
// row must be cloned. Prepare and the hash diff read so: they encode or
// hash each row and drop it; reports write rejections at once, and
// tableReport.protect copies the keys it keeps.
type rowReader struct {
	tbl connector.Table
	bt  connector.BytesTable
	row []string
}

func newRowReader(tbl connector.Table) *rowReader {
	bt, _ := tbl.(connector.BytesTable)
	return &rowReader{tbl: tbl, bt: bt}
}

func (r *rowReader) read() ([]string, error) {
	if r.bt == nil {
		return r.tbl.Read()
	}
	fields, err := r.bt.ReadBytes()
	if err != nil {
		return nil, err
	}
	r.row = r.row[:0]
	for _, f := range fields {
		r.row = append(r.row, unsafe.String(unsafe.SliceData(f), len(f)))
	}
	return r.row, nil
}
