package entitytype

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// loadBytes decodes and validates a configuration; name is the file's
// name, or "".
func loadBytes(name string, data []byte) (*Config, error) {
	fail := func(ps []Problem) error { return &ValidationError{File: name, Problems: ps} }
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, prefixed(name, errors.New("empty configuration"))
		}
		if p, ok := syntaxProblem(data, err); ok {
			return nil, fail([]Problem{p})
		}
		return nil, prefixed(name, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, prefixed(name, errors.New("empty configuration"))
		}
		root = root.Content[0]
	}
	var d decoder
	top := object{what: "the configuration"}
	d.structValue(root, reflect.TypeFor[Config](), top, top, "")
	if len(d.problems) > 0 {
		return nil, fail(d.problems)
	}
	var c Config
	if err := root.Decode(&c); err != nil {
		return nil, prefixed(name, err)
	}
	if err := c.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.File = name
			for i := range ve.Problems {
				ve.Problems[i].Line = lineOf(&doc, ve.Problems[i].at)
			}
		}
		return nil, err
	}
	return &c, nil
}

func prefixed(name string, err error) error {
	if name != "" {
		return fmt.Errorf("entitytype: %s: %w", name, err)
	}
	return fmt.Errorf("entitytype: %w", err)
}

// decoder checks a YAML document against the types it is decoded into
// before it is: it reports every unknown field, with the known field
// nearest to it, and every value that does not decode, each with its line
// and the object that holds it named by its name.
type decoder struct{ problems []Problem }

// object is the object a YAML mapping is decoded into.
type object struct {
	p      place  // its place, as a Problem's Path shows it
	name   string // its name, or ""
	what   string // how a sentence names it: "entity type SAB_User"
	prefix string // what a setting's name begins with: "thresholds."
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// isStruct reports whether t is decoded field by field.
func isStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshaler)
}

// structValue checks n, the value of setting of parent, decoded into the
// struct type t as the object o.
func (d *decoder) structValue(n *yaml.Node, t reflect.Type, o, parent object, setting string) {
	n = resolve(n)
	switch {
	case isNull(n):
	case n.Kind != yaml.MappingNode:
		d.mismatch(n, t, parent, setting)
	default:
		d.mapping(n, t, o)
	}
}

// mapping checks the fields of n, decoded into the struct type t.
func (d *decoder) mapping(n *yaml.Node, t reflect.Type, o object) {
	fields, names := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			// << merges a mapping (or a list of them) into this one.
			val = resolve(val)
			items := []*yaml.Node{val}
			if val.Kind == yaml.SequenceNode {
				items = val.Content
			}
			for _, m := range items {
				if m = resolve(m); m.Kind == yaml.MappingNode {
					d.mapping(m, t, o)
				}
			}
			continue
		}
		f, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown field %q in %s", k.Value, o.what)
			if s := closest(names, k.Value); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (the fields are " + strings.Join(names, ", ") + ")"
			}
			d.problems = append(d.problems, Problem{Message: msg, Line: k.Line})
			continue
		}
		switch {
		case isStruct(f.Type):
			d.structValue(val, f.Type, enter(o, k.Value, -1, val), o, k.Value)
		case f.Type.Kind() == reflect.Slice && isStruct(f.Type.Elem()):
			val = resolve(val)
			switch {
			case isNull(val):
			case val.Kind != yaml.SequenceNode:
				d.mismatch(val, f.Type, o, k.Value)
			default:
				for j, item := range val.Content {
					d.structValue(item, f.Type.Elem(), enter(o, k.Value, j, item), o, fmt.Sprintf("%s[%d]", k.Value, j))
				}
			}
		default:
			d.leaf(val, f.Type, o, k.Value)
		}
	}
}

// enter returns the object that the value n of setting (its item i when
// i >= 0) of o is decoded into.
func enter(o object, setting string, i int, n *yaml.Node) object {
	name := nameOf(n)
	at := setting
	if i >= 0 {
		at = fmt.Sprintf("%s[%d]", setting, i)
	}
	called := func(kind string) string {
		if name == "" {
			return at + " of " + o.what
		}
		return kind + " " + name
	}
	switch setting {
	case "connectors":
		what := "connector " + name
		if name == "" {
			what = at
		}
		return object{p: connectorPlace(at, name), name: name, what: what}
	case "entityTypes":
		return object{p: o.p.child(at, name), name: name, what: called("entity type")}
	case "associations":
		return object{p: o.p.child(at, name), name: name, what: called("association")}
	case "properties":
		what := at + " of " + o.what
		if name != "" {
			what = "property " + name + " of " + o.name
			if o.name == "" {
				what = "property " + name + " of " + o.what
			}
		}
		return object{p: o.p.child(at, name), name: name, what: what}
	}
	// A part of o: its thresholds, an association's source or target.
	return object{p: o.p, name: o.name, what: setting + " of " + o.what, prefix: o.prefix + at + "."}
}

// leaf checks that n, the value of setting of o, decodes into the type t.
func (d *decoder) leaf(n *yaml.Node, t reflect.Type, o object, setting string) {
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		var msg string
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msg = fmt.Sprintf("want %s, not %s", describeType(t), describeNode(resolve(n)))
		} else {
			msg = strings.TrimPrefix(err.Error(), "threshold: ")
		}
		d.problems = append(d.problems, Problem{Path: o.p.path, Message: o.prefix + setting + ": " + msg, Line: n.Line})
	}
}

// mismatch reports a value n of setting of o that is not of the shape of t.
func (d *decoder) mismatch(n *yaml.Node, t reflect.Type, o object, setting string) {
	msg := fmt.Sprintf("want %s, not %s", describeType(t), describeNode(n))
	if setting != "" {
		msg = o.prefix + setting + ": " + msg
	} else if o.what != "" {
		msg = o.what + ": " + msg
	}
	d.problems = append(d.problems, Problem{Path: o.p.path, Message: msg, Line: n.Line})
}

func describeType(t reflect.Type) string {
	switch {
	case isStruct(t):
		return "a mapping (name: value, ...)"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "a list such as [a, b]"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a text"
	}
	return "a value"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// yamlFields returns the fields of the struct type t by their YAML names,
// and those names in order.
func yamlFields(t reflect.Type) (map[string]reflect.StructField, []string) {
	fields := map[string]reflect.StructField{}
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f
		names = append(names, name)
	}
	return fields, names
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// nameOf returns the value of the name field of the mapping n, or "".
func nameOf(n *yaml.Node) string {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && resolve(n.Content[i+1]).Kind == yaml.ScalarNode {
			return resolve(n.Content[i+1]).Value
		}
	}
	return ""
}

// lineOf returns the line of the setting at path (such as
// connectors[0].entityTypes[2].file) in the YAML document doc: the line of
// its key, or, for a setting that is not written, the line of the nearest
// setting that holds it.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	if path == "" {
		return line
	}
	for seg := range strings.SplitSeq(path, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" {
			n = resolve(n)
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			n = resolve(n)
			if !ok || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return line
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.+)$`)

// syntaxProblem turns a YAML syntax error into a Problem at the line that
// is wrong: the library reports the line where the enclosing block
// begins, so the first line at or after it whose indentation breaks its
// block, if there is one, is reported, with the library's message.
func syntaxProblem(data []byte, err error) (Problem, bool) {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return Problem{}, false
	}
	line, _ := strconv.Atoi(m[1])
	if bad, why := badIndentation(data, line); bad > 0 {
		return Problem{Message: why + " (" + err.Error() + ")", Line: bad}, true
	}
	return Problem{Message: m[2] + " (YAML syntax; look at the indentation of this block)", Line: line}, true
}

// badIndentation returns the first line, at or after line from, whose
// indentation is inconsistent with the lines around it, and what is wrong
// with it; or 0. It reads lines as a block-style YAML document: flow
// collections over several lines and block scalars are skipped. A line is
// inconsistent when it is deeper than a line that opens no block, when it
// goes back to an indentation that no enclosing block has, when it is a
// list item among keys (other than a list under the key just before), or
// a key among list items.
func badIndentation(data []byte, from int) (int, string) {
	// A level is an indentation in use: of keys, or of list items. line
	// is its last line.
	type level struct {
		indent, line int
		item         bool // list items ("- ") rather than keys
		compact      bool // a key-level holding the items of its last key
	}
	var (
		levels       []level
		opens        bool // the previous line opens a block
		prev         int  // the previous line
		prevIndent   int
		flow         int  // open flow brackets
		scalarUntil  = -1 // the indentation of the key of a block scalar being read
		scalarIndent int  // the indentation of its text, or -1 before its first line
	)
	for i, raw := range strings.Split(string(data), "\n") {
		num := i + 1
		text := strings.TrimRight(raw, " \r")
		body := strings.TrimLeft(text, " \t")
		indent := len(text) - len(body)
		if scalarUntil >= 0 {
			switch {
			case body == "":
				continue
			case scalarIndent < 0 && indent > scalarUntil:
				scalarIndent = indent
				continue
			case indent >= scalarIndent && scalarIndent >= 0:
				continue
			case indent > scalarUntil && num >= from:
				return num, fmt.Sprintf("wrong indentation: %d spaces, less than the text block that begins on line %d (%d spaces); indent it like the block's first line", indent, prev, scalarIndent)
			}
			scalarUntil = -1
		}
		if body == "" || body[0] == '#' || body == "---" || body == "..." || body[0] == '%' {
			continue
		}
		if flow > 0 {
			flow = max(0, flow+brackets(body))
			continue
		}
		if strings.Contains(text[:indent], "\t") && num >= from {
			return num, "indented with a tab: YAML indents with spaces only"
		}
		item := body == "-" || strings.HasPrefix(body, "- ")
		bad := ""
		switch {
		case len(levels) == 0:
			levels = append(levels, level{indent: indent, line: num, item: item})
		case indent > levels[len(levels)-1].indent:
			if !opens {
				bad = fmt.Sprintf("wrong indentation: %d spaces, deeper than line %d (%d spaces), which opens no block", indent, prev, prevIndent)
			}
			levels = append(levels, level{indent: indent, line: num, item: item})
		default:
			var inner *level
			for len(levels) > 0 && levels[len(levels)-1].indent > indent {
				l := levels[len(levels)-1]
				inner, levels = &l, levels[:len(levels)-1]
			}
			if len(levels) == 0 || levels[len(levels)-1].indent != indent {
				bad = fmt.Sprintf("wrong indentation: %d spaces", indent)
				if inner != nil {
					bad += fmt.Sprintf(", where line %d has %d", inner.line, inner.indent)
				}
				if len(levels) > 0 {
					outer := levels[len(levels)-1]
					if inner != nil && inner.line == outer.line {
						bad += fmt.Sprintf(" and %d", outer.indent)
					} else {
						bad += fmt.Sprintf(" and line %d has %d", outer.line, outer.indent)
					}
				}
				levels = append(levels, level{indent: indent, line: num, item: item})
				break
			}
			l := &levels[len(levels)-1]
			switch {
			case item && !l.item && !l.compact && !(opens && prevIndent == indent):
				bad = fmt.Sprintf("wrong indentation: a list item at %d spaces, among the keys of line %d", indent, l.line)
				if inner != nil && inner.item {
					bad += fmt.Sprintf(", where the items of line %d are at %d", inner.line, inner.indent)
				}
			case item && !l.item:
				l.compact = true
			case !item && l.item:
				bad = fmt.Sprintf("wrong indentation: a key at %d spaces, among the list items of line %d", indent, l.line)
				if inner != nil && !inner.item {
					bad += fmt.Sprintf(", where the keys of line %d are at %d", inner.line, inner.indent)
				}
			default:
				l.compact = false
			}
			l.line = num
		}
		if bad != "" && num >= from {
			return num, bad + "; indent it like the lines it belongs with"
		}
		content := stripComment(body)
		// An item "- key: value" holds a mapping whose keys are indented
		// like its first key.
		col, rest := indent, content
		for rest == "-" || strings.HasPrefix(rest, "- ") {
			r := strings.TrimLeft(strings.TrimPrefix(rest, "-"), " ")
			col += len(rest) - len(r)
			rest = r
			if isKey(rest) || strings.HasPrefix(rest, "- ") {
				levels = append(levels, level{indent: col, line: num, item: strings.HasPrefix(rest, "- ")})
			}
		}
		opens = rest == "" || strings.HasSuffix(rest, ":") || blockOpener.MatchString(rest)
		if blockScalar.MatchString(rest) {
			scalarUntil, scalarIndent = indent, -1
			opens = false
		}
		flow = max(0, brackets(rest))
		prev, prevIndent = num, indent
	}
	return 0, ""
}

var (
	// blockOpener matches a key whose value begins on the next line after
	// an anchor or a tag: "key: &anchor", "key: !!map".
	blockOpener = regexp.MustCompile(`:\s+([&!][^\s]*\s*)+$`)
	// blockScalar matches a key whose value is a block scalar: "key: |".
	blockScalar = regexp.MustCompile(`(^|:\s+)([&!][^\s]*\s+)*[|>][-+0-9]*$`)
)

// isKey reports whether s begins a block mapping's entry: "key: value"
// or "key:".
func isKey(s string) bool {
	if s == "" || strings.IndexByte("{[\"'|>&!*", s[0]) >= 0 {
		return false
	}
	return strings.HasSuffix(s, ":") || strings.Contains(s, ": ")
}

// outsideQuotes calls fn with each byte of s and its index that is not
// inside a YAML quoted scalar, until fn returns false.
func outsideQuotes(s string, fn func(i int, c byte) bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case (c == '"' || c == '\'') && (i == 0 || strings.IndexByte(" :[{,", s[i-1]) >= 0):
			quote = c
		default:
			if !fn(i, c) {
				return
			}
		}
	}
}

// brackets returns the number of flow brackets that s opens and does not
// close, outside quotes.
func brackets(s string) int {
	n := 0
	outsideQuotes(s, func(_ int, c byte) bool {
		switch c {
		case '[', '{':
			n++
		case ']', '}':
			n--
		}
		return true
	})
	return n
}

// stripComment removes a trailing comment (" #...") outside quotes.
func stripComment(s string) string {
	out := s
	outsideQuotes(s, func(i int, c byte) bool {
		if c == '#' && (i == 0 || s[i-1] == ' ') {
			out = strings.TrimRight(s[:i], " ")
			return false
		}
		return true
	})
	return out
}
