package entitytype

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/expr-lang/expr/parser"

	"github.com/idsync/idsync/internal/suggest"
	"github.com/idsync/idsync/threshold"
)

// ErrInvalid is matched by every [*ValidationError].
var ErrInvalid = errors.New("entitytype: invalid definition")

// Problem is one thing wrong with a definition.
type Problem struct {
	// Path names the object the problem is about by names, as
	// connector.entityType.property: "SAB" (a connector), "SAB.SAB_User"
	// (an entity type), "SAB.SAB_User.organization" (a property),
	// "SAB.SAB_Members" (an association). An object without a name is
	// named by its position ("SAB.SAB_User.properties[3]"). Path is empty
	// when the message names its place itself (an unknown field, a YAML
	// syntax error) or concerns the whole configuration.
	Path string
	// Message says what is wrong and, where it can, what to do. It begins
	// with the setting it is about, when there is one:
	// `target: unknown entity type "HR.HR_Orgs" (did you mean "HR.HR_Org"?)`.
	Message string
	// Line is the line of the configuration where the setting (or, when
	// it is absent, the nearest setting that holds it) is written, when
	// the definition was loaded with Load or LoadFile; 0 otherwise.
	Line int

	at string // the setting's position: connectors[0].entityTypes[2].file
}

// String returns the problem as "path: message" (or the message alone when
// the path is empty), preceded by "line N: " when its line is known.
func (p Problem) String() string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, s)
	}
	return s
}

// ValidationError lists every problem of a definition at once.
type ValidationError struct {
	// File is the configuration file, when the definition was loaded from one.
	File     string
	Problems []Problem
}

// Error returns the problems, one per line, each as file:line: path:
// message (the form editors follow), or the single problem on one line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("entitytype: ")
	if len(e.Problems) == 1 {
		b.WriteString(e.problem(e.Problems[0]))
		return b.String()
	}
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	fmt.Fprintf(&b, "%d problems in definition", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(e.problem(p))
	}
	return b.String()
}

func (e *ValidationError) problem(p Problem) string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	switch {
	case e.File != "" && p.Line > 0:
		// file:line, as compilers write it, which editors follow.
		return fmt.Sprintf("%s:%d: %s", e.File, p.Line, s)
	case e.File != "":
		return e.File + ": " + s
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, s)
	}
	return s
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// LoadFile reads and validates a configuration file (YAML, or JSON, which is
// YAML too). Every mistake is reported with its line: unknown fields (with
// the nearest known one), values that do not read (a type, a percentage),
// a YAML syntax error (at the line whose indentation is wrong, when it can
// be found), and every [Problem] of the [*ValidationError].
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("entitytype: %w", err)
	}
	return loadBytes(filepath.Base(path), data)
}

// Load reads and validates a configuration from r (YAML or JSON), as
// LoadFile does.
func Load(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("entitytype: %w", err)
	}
	return loadBytes("", data)
}

// Validate checks the whole configuration and returns a [*ValidationError]
// listing every problem, its path by names, or nil.
func (c *Config) Validate() error {
	v := validator{cfg: c, types: map[string]int{}, assocs: map[string]bool{}}
	if len(c.Connectors) == 0 {
		v.add(place{}, "connectors", "no connector defined: list the connectors under connectors:")
	}
	names := map[string]bool{}
	for i := range c.Connectors {
		for _, t := range c.Connectors[i].EntityTypes {
			v.types[t.Name]++
		}
		n := c.Connectors[i].Name
		if n != "" && names[n] {
			v.add(connectorPlace(fmt.Sprintf("connectors[%d]", i), n), "name", fmt.Sprintf("connector %q is defined more than once: give each connector its own name", n))
		}
		names[n] = true
	}
	for i := range c.Connectors {
		v.model(connectorPlace(fmt.Sprintf("connectors[%d]", i), c.Connectors[i].Name), &c.Connectors[i])
	}
	return v.err()
}

// Validate checks one connector's model on its own; references to entity
// types of other connectors must be written "Connector.EntityType" and are
// not checked. Paths begin with the connector's name (or "connector").
func (m *Model) Validate() error {
	v := validator{types: map[string]int{}, assocs: map[string]bool{}}
	for _, t := range m.EntityTypes {
		v.types[t.Name]++
	}
	path := m.Name
	if path == "" || strings.Contains(path, ".") {
		path = "connector"
	}
	v.model(place{at: "connector", path: path}, m)
	return v.err()
}

// place is where an object is: at, its position in the configuration
// (connectors[0].entityTypes[2]), which finds its line, and path, its
// name as a Problem shows it (SAB.SAB_User).
type place struct{ at, path string }

// connectorPlace names a connector by its name, or by its position when
// it has none.
func connectorPlace(at, name string) place {
	if name == "" {
		return place{at: at, path: at}
	}
	return place{at: at, path: name}
}

// child returns the place of the object at at (a position under p) named
// name, or by its position when it has none.
func (p place) child(at, name string) place {
	if name == "" {
		name = at
	}
	return place{at: p.at + "." + at, path: p.path + "." + name}
}

type validator struct {
	cfg      *Config        // nil when validating one model
	types    map[string]int // entity type name → definitions seen
	assocs   map[string]bool
	problems []Problem
}

// add reports msg about the setting of the object at p (the object itself
// when setting is empty).
func (v *validator) add(p place, setting, msg string) { v.addAt(p, setting, setting, msg) }

// addAt is add for a setting whose position differs from its name, such
// as key[1] for the setting key.
func (v *validator) addAt(p place, setting, at, msg string) {
	if setting != "" {
		msg = setting + ": " + msg
	}
	if at != "" {
		if p.at != "" {
			at = "." + at
		}
		at = p.at + at
	} else {
		at = p.at
	}
	v.problems = append(v.problems, Problem{Path: p.path, Message: msg, at: at})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (v *validator) model(p place, m *Model) {
	if m.Name == "" {
		v.add(p, "name", "missing connector name")
	} else if strings.Contains(m.Name, ".") {
		v.add(p, "name", fmt.Sprintf("connector name %q must not contain '.'", m.Name))
	}
	v.limits(p, m.Thresholds.Validate("thresholds"))
	if len(m.EntityTypes) == 0 {
		v.add(p, "entityTypes", "no entity type defined")
	}
	for i := range m.EntityTypes {
		t := &m.EntityTypes[i]
		v.entityType(p.child(fmt.Sprintf("entityTypes[%d]", i), t.Name), m, t)
	}
	for i := range m.Associations {
		a := &m.Associations[i]
		v.association(p.child(fmt.Sprintf("associations[%d]", i), a.Name), m, a)
	}
}

// limits adds the problems of threshold.Limits.Validate, whose messages
// begin with the setting ("thresholds.maxDeleted: negative count -1").
func (v *validator) limits(p place, errs []error) {
	for _, err := range errs {
		setting, msg, ok := strings.Cut(err.Error(), ": ")
		if !ok {
			setting, msg = "thresholds", err.Error()
		}
		v.add(p, setting, msg)
	}
}

func (v *validator) entityType(p place, m *Model, t *EntityType) {
	switch {
	case t.Name == "":
		v.add(p, "name", "missing entity type name")
	case strings.Contains(t.Name, "."):
		v.add(p, "name", fmt.Sprintf("entity type name %q must not contain '.'", t.Name))
	case v.types[t.Name] > 1:
		v.add(p, "name", fmt.Sprintf("entity type %q is defined more than once: entity type names are unique across all connectors", t.Name))
	}
	v.file(p, t.File)
	v.separator(p, "separator", t.Separator)
	v.limits(p, t.Thresholds.ValidateFor(threshold.ScopeEntityType, "thresholds"))
	if len(t.Properties) == 0 {
		v.add(p, "properties", "no property defined")
	}
	seen := map[string]bool{}
	for i := range t.Properties {
		prop := &t.Properties[i]
		pp := p.child(fmt.Sprintf("properties[%d]", i), prop.Name)
		if prop.Name == "" {
			v.add(pp, "name", "missing property name")
		} else if seen[prop.Name] {
			v.add(pp, "name", fmt.Sprintf("duplicate property %q: property names are unique within an entity type", prop.Name))
		}
		seen[prop.Name] = true
		v.property(pp, m, prop)
	}
	if len(t.Key) == 0 {
		v.add(p, "key", "missing key: name the property (or properties) that identify a resource")
	}
	var names []string
	for _, prop := range t.Properties {
		names = append(names, prop.Name)
	}
	for i, k := range t.Key {
		prop := t.Property(k)
		at := fmt.Sprintf("key[%d]", i)
		switch {
		case prop == nil:
			v.addAt(p, "key", at, fmt.Sprintf("property %q is not defined%s", k, didYouMean(names, k)))
		case prop.MultiValued:
			v.addAt(p, "key", at, fmt.Sprintf("property %q is multi-valued: a key property holds one value", k))
		}
	}
}

func (v *validator) property(p place, m *Model, prop *Property) {
	switch {
	case prop.Column == "" && prop.Expression == "":
		v.add(p, "", "set column (a source header) or expression")
	case prop.Column != "" && prop.Expression != "":
		v.add(p, "", "set column or expression, not both")
	}
	if prop.Type > Ref {
		v.add(p, "type", fmt.Sprintf("unknown type %v (the types are %s)", prop.Type, strings.Join(kindNames[1:], ", ")))
		return
	}
	if prop.Type == Ref {
		if prop.Target == "" {
			v.add(p, "target", "a ref property needs a target entity type")
		} else if !v.known(m, prop.Target) {
			v.add(p, "target", fmt.Sprintf("unknown entity type %q%s", prop.Target, didYouMean(v.typeNames(m), prop.Target)))
		}
		if prop.MultiValued {
			v.add(p, "multiValued", "a ref property is mono-valued; define an association for multi-valued links")
		}
	} else if prop.Target != "" {
		v.add(p, "target", "target is only for type ref")
	}
	switch prop.OnMissing {
	case "", Reject, Drop:
		if prop.OnMissing != "" && prop.Type != Ref {
			v.add(p, "onMissing", "onMissing is only for type ref")
		}
	default:
		v.add(p, "onMissing", fmt.Sprintf("unknown policy %q (want reject or drop)", prop.OnMissing))
	}
	if _, err := NewConverter(prop); err != nil {
		v.propertyError(p, err)
	}
	if prop.Expression != "" {
		if _, err := parser.Parse(prop.Expression); err != nil {
			v.add(p, "expression", err.Error())
		}
	}
}

// propertyError adds a converter's error at the field it is about.
func (v *validator) propertyError(p place, err error) {
	var pe *PropertyError
	if errors.As(err, &pe) {
		v.add(p, pe.Field, pe.Message)
		return
	}
	v.add(p, "", err.Error())
}

func (v *validator) association(p place, m *Model, a *Association) {
	switch {
	case a.Name == "":
		v.add(p, "name", "missing association name")
	case v.assocs[a.Name] || v.types[a.Name] > 0:
		v.add(p, "name", fmt.Sprintf("name %q is already used: association names are unique, and differ from entity type names", a.Name))
	}
	v.assocs[a.Name] = true
	if !a.Inline {
		v.file(p, a.File)
	}
	v.separator(p, "separator", a.Separator)
	v.limits(p, a.Thresholds.ValidateFor(threshold.ScopeAssociation, "thresholds"))
	for _, e := range []struct {
		name string
		end  *End
	}{{"source", &a.Source}, {"target", &a.Target}} {
		if e.end.EntityType == "" {
			v.add(p, e.name+".entityType", "missing entity type")
		} else if !v.known(m, e.end.EntityType) {
			v.add(p, e.name+".entityType", fmt.Sprintf("unknown entity type %q%s", e.end.EntityType, didYouMean(v.typeNames(m), e.end.EntityType)))
		}
		if e.end.Column == "" {
			v.add(p, e.name+".column", "missing column: name the header of the column holding the "+e.name+"'s key")
		}
	}
	if a.Source.Separator != "" {
		v.add(p, "source.separator", "the source side holds one key per row")
	}
	if a.Target.Separator != "" && !a.Inline {
		v.add(p, "target.separator", "only an inline association (read from the source entity type's table) has a multi-valued target column")
	}
	if a.Inline && a.Source.EntityType != "" && m.EntityType(a.Source.EntityType) == nil {
		v.add(p, "inline", "the source entity type of an inline association must belong to this connector")
	}
	if a.Inline && (a.File != "" || a.CommandColumn != "") {
		v.add(p, "inline", "an inline association has no file or command column of its own")
	}
	switch a.OnMissing {
	case "", Reject, Drop:
	default:
		v.add(p, "onMissing", fmt.Sprintf("unknown policy %q (want reject or drop)", a.OnMissing))
	}
}

// file checks a table's file name: a local name inside the input folder
// (filepath.IsLocal), so that reading the table, and copying it into a
// run's folder, stays inside those folders. Empty means the default name.
func (v *validator) file(p place, file string) {
	if file != "" && !filepath.IsLocal(file) {
		v.add(p, "file", fmt.Sprintf("%q must be a local name inside the input folder (relative, without \"..\" that leaves it)", file))
	}
}

func (v *validator) separator(p place, setting, sep string) {
	if sep != "" && len([]rune(sep)) != 1 {
		v.add(p, setting, fmt.Sprintf("separator %q must be one character", sep))
	}
	if sep == "\"" || sep == "\n" || sep == "\r" {
		v.add(p, setting, fmt.Sprintf("separator %q is not allowed", sep))
	}
}

// known reports whether name (an entity type, or "Connector.EntityType")
// can be resolved.
func (v *validator) known(m *Model, name string) bool {
	if conn, typ, ok := strings.Cut(name, "."); ok {
		if v.cfg == nil {
			return true
		}
		c := v.cfg.Connector(conn)
		return c != nil && c.EntityType(typ) != nil
	}
	if m.EntityType(name) != nil {
		return true
	}
	return v.cfg != nil && v.types[name] == 1
}

// typeNames returns the names a reference from m can use: m's entity
// types, and every entity type of the configuration both alone and as
// "Connector.EntityType".
func (v *validator) typeNames(m *Model) []string {
	var names []string
	for _, t := range m.EntityTypes {
		names = append(names, t.Name)
	}
	if v.cfg != nil {
		for _, c := range v.cfg.Connectors {
			for _, t := range c.EntityTypes {
				names = append(names, t.Name, c.Name+"."+t.Name)
			}
		}
	}
	return names
}

// didYouMean returns ` (did you mean "x"?)` for the name in names nearest
// to name, or "".
func didYouMean(names []string, name string) string {
	if s := closest(names, name); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// closest returns the name in names nearest to name (see
// [suggest.Closest]), or else one that begins with name or with which name
// begins ("int" for "integer"), or "".
func closest(names []string, name string) string {
	if s := suggest.Closest(names, name); s != "" {
		return s
	}
	key := suggest.Fold(name)
	if len(key) < 3 {
		return ""
	}
	for _, n := range names {
		if k := suggest.Fold(n); len(k) >= 3 && n != name && (strings.HasPrefix(key, k) || strings.HasPrefix(k, key)) {
			return n
		}
	}
	return ""
}
