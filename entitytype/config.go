package entitytype

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/parser"
	"go.yaml.in/yaml/v3"

	"github.com/idsync/idsync/threshold"
)

// ErrInvalid is matched by every [*ValidationError].
var ErrInvalid = errors.New("entitytype: invalid definition")

// Problem is one thing wrong with a definition, at a path such as
// connectors[0].entityTypes[2].properties[1].format.
type Problem struct {
	Path    string
	Message string
	// Line is the line of the configuration where the setting at Path
	// (or, when it is absent, the nearest setting that holds it) is
	// written, when the definition was loaded with Load or LoadFile;
	// 0 otherwise.
	Line int
}

// String returns the problem as "path: message", preceded by "line N: "
// when its line is known.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Path, p.Message)
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem of a definition at once.
type ValidationError struct {
	// File is the configuration file, when the definition was loaded from one.
	File     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("entitytype: ")
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	fmt.Fprintf(&b, "%d problem(s) in definition", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		if e.File != "" && p.Line > 0 {
			// file:line, as compilers write it, which editors follow.
			fmt.Fprintf(&b, "%s:%d: %s: %s", e.File, p.Line, p.Path, p.Message)
		} else {
			b.WriteString(p.String())
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// LoadFile reads and validates a configuration file (YAML, or JSON, which is
// YAML too). Unknown fields are errors that give their line, and so is
// every [Problem] of the [*ValidationError].
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("entitytype: %w", err)
	}
	return load(filepath.Base(path), bytes.NewReader(data))
}

// Load reads and validates a configuration from r (YAML or JSON).
func Load(r io.Reader) (*Config, error) { return load("", r) }

func load(name string, r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("entitytype: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty configuration")
		}
		if name != "" {
			return nil, fmt.Errorf("entitytype: %s: %w", name, err)
		}
		return nil, fmt.Errorf("entitytype: %w", err)
	}
	if err := c.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.File = name
			var doc yaml.Node
			if yaml.Unmarshal(data, &doc) == nil {
				for i := range ve.Problems {
					ve.Problems[i].Line = lineOf(&doc, ve.Problems[i].Path)
				}
			}
		}
		return nil, err
	}
	return &c, nil
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
	for seg := range strings.SplitSeq(path, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" {
			if n.Kind == yaml.AliasNode && n.Alias != nil {
				n = n.Alias
			}
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
			if n.Kind == yaml.AliasNode && n.Alias != nil {
				n = n.Alias
			}
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

// Validate checks the whole configuration and returns a [*ValidationError]
// listing every problem with its path, or nil.
func (c *Config) Validate() error {
	v := validator{cfg: c, types: map[string]int{}, assocs: map[string]bool{}}
	if len(c.Connectors) == 0 {
		v.add("connectors", "no connector defined")
	}
	names := map[string]bool{}
	for i := range c.Connectors {
		for _, t := range c.Connectors[i].EntityTypes {
			v.types[t.Name]++
		}
		n := c.Connectors[i].Name
		if n != "" && names[n] {
			v.add(fmt.Sprintf("connectors[%d].name", i), fmt.Sprintf("duplicate connector %q", n))
		}
		names[n] = true
	}
	for i := range c.Connectors {
		v.model(fmt.Sprintf("connectors[%d]", i), &c.Connectors[i])
	}
	return v.err()
}

// Validate checks one connector's model on its own; references to entity
// types of other connectors must be written "Connector.EntityType" and are
// not checked.
func (m *Model) Validate() error {
	v := validator{types: map[string]int{}, assocs: map[string]bool{}}
	for _, t := range m.EntityTypes {
		v.types[t.Name]++
	}
	v.model("connector", m)
	return v.err()
}

type validator struct {
	cfg      *Config        // nil when validating one model
	types    map[string]int // entity type name → definitions seen
	assocs   map[string]bool
	problems []Problem
}

func (v *validator) add(path, msg string) {
	v.problems = append(v.problems, Problem{Path: path, Message: msg})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (v *validator) model(path string, m *Model) {
	if m.Name == "" {
		v.add(path+".name", "missing connector name")
	} else if strings.Contains(m.Name, ".") {
		v.add(path+".name", fmt.Sprintf("connector name %q must not contain '.'", m.Name))
	}
	v.limits(m.Thresholds.Validate(path + ".thresholds"))
	if len(m.EntityTypes) == 0 {
		v.add(path+".entityTypes", "no entity type defined")
	}
	for i := range m.EntityTypes {
		v.entityType(fmt.Sprintf("%s.entityTypes[%d]", path, i), m, &m.EntityTypes[i])
	}
	for i := range m.Associations {
		v.association(fmt.Sprintf("%s.associations[%d]", path, i), m, &m.Associations[i])
	}
}

func (v *validator) limits(errs []error) {
	for _, err := range errs {
		p, msg, ok := strings.Cut(err.Error(), ": ")
		if !ok {
			p, msg = "thresholds", err.Error()
		}
		v.add(p, msg)
	}
}

func (v *validator) entityType(path string, m *Model, t *EntityType) {
	switch {
	case t.Name == "":
		v.add(path+".name", "missing entity type name")
	case strings.Contains(t.Name, "."):
		v.add(path+".name", fmt.Sprintf("entity type name %q must not contain '.'", t.Name))
	case v.types[t.Name] > 1:
		v.add(path+".name", fmt.Sprintf("entity type %q is defined more than once", t.Name))
	}
	v.file(path+".file", "entity type "+t.Name, t.File)
	v.separator(path+".separator", t.Separator)
	v.limits(t.Thresholds.ValidateFor(threshold.ScopeEntityType, path+".thresholds"))
	if len(t.Properties) == 0 {
		v.add(path+".properties", "no property defined")
	}
	seen := map[string]bool{}
	for i := range t.Properties {
		p := &t.Properties[i]
		pp := fmt.Sprintf("%s.properties[%d]", path, i)
		if p.Name == "" {
			v.add(pp+".name", "missing property name")
		} else if seen[p.Name] {
			v.add(pp+".name", fmt.Sprintf("duplicate property %q", p.Name))
		}
		seen[p.Name] = true
		v.property(pp, m, t, p)
	}
	if len(t.Key) == 0 {
		v.add(path+".key", "missing key: name the property (or properties) that identify a resource")
	}
	for i, k := range t.Key {
		p := t.Property(k)
		switch {
		case p == nil:
			v.add(fmt.Sprintf("%s.key[%d]", path, i), fmt.Sprintf("key property %q is not defined", k))
		case p.MultiValued:
			v.add(fmt.Sprintf("%s.key[%d]", path, i), fmt.Sprintf("key property %q is multi-valued", k))
		}
	}
}

func (v *validator) property(path string, m *Model, t *EntityType, p *Property) {
	switch {
	case p.Column == "" && p.Expression == "":
		v.add(path, "set column (a source header) or expression")
	case p.Column != "" && p.Expression != "":
		v.add(path, "set column or expression, not both")
	}
	if p.Type > Ref {
		v.add(path+".type", fmt.Sprintf("unknown type %v", p.Type))
		return
	}
	if p.Type == Ref {
		if p.Target == "" {
			v.add(path+".target", "a ref property needs a target entity type")
		} else if !v.known(m, p.Target) {
			v.add(path+".target", fmt.Sprintf("unknown entity type %q", p.Target))
		}
		if p.MultiValued {
			v.add(path+".multiValued", "a ref property is mono-valued; define an association for multi-valued links")
		}
	} else if p.Target != "" {
		v.add(path+".target", "target is only for type ref")
	}
	switch p.OnMissing {
	case "", Reject, Drop:
		if p.OnMissing != "" && p.Type != Ref {
			v.add(path+".onMissing", "onMissing is only for type ref")
		}
	default:
		v.add(path+".onMissing", fmt.Sprintf("unknown policy %q (want reject or drop)", p.OnMissing))
	}
	if _, err := NewConverter(p); err != nil {
		v.propertyError(path, err)
	}
	if p.Expression != "" {
		if _, err := parser.Parse(p.Expression); err != nil {
			v.add(path+".expression", err.Error())
		}
	}
}

// propertyError adds a converter's error at the path of the field it is
// about.
func (v *validator) propertyError(path string, err error) {
	var pe *PropertyError
	if errors.As(err, &pe) {
		v.add(path+"."+pe.Field, pe.Message)
		return
	}
	v.add(path, err.Error())
}

func (v *validator) association(path string, m *Model, a *Association) {
	switch {
	case a.Name == "":
		v.add(path+".name", "missing association name")
	case v.assocs[a.Name] || v.types[a.Name] > 0:
		v.add(path+".name", fmt.Sprintf("name %q is already used", a.Name))
	}
	v.assocs[a.Name] = true
	if !a.Inline {
		v.file(path+".file", "association "+a.Name, a.File)
	}
	v.separator(path+".separator", a.Separator)
	v.limits(a.Thresholds.ValidateFor(threshold.ScopeAssociation, path+".thresholds"))
	for _, e := range []struct {
		name string
		end  *End
	}{{"source", &a.Source}, {"target", &a.Target}} {
		ep := path + "." + e.name
		if e.end.EntityType == "" {
			v.add(ep+".entityType", "missing entity type")
		} else if !v.known(m, e.end.EntityType) {
			v.add(ep+".entityType", fmt.Sprintf("unknown entity type %q", e.end.EntityType))
		}
		if e.end.Column == "" {
			v.add(ep+".column", "missing column")
		}
	}
	if a.Source.Separator != "" {
		v.add(path+".source.separator", "the source side holds one key per row")
	}
	if a.Target.Separator != "" && !a.Inline {
		v.add(path+".target.separator", "only an inline association (read from the source entity type's table) has a multi-valued target column")
	}
	if a.Inline && a.Source.EntityType != "" && m.EntityType(a.Source.EntityType) == nil {
		v.add(path+".inline", "the source entity type of an inline association must belong to this connector")
	}
	if a.Inline && (a.File != "" || a.CommandColumn != "") {
		v.add(path+".inline", "an inline association has no file or command column of its own")
	}
	switch a.OnMissing {
	case "", Reject, Drop:
	default:
		v.add(path+".onMissing", fmt.Sprintf("unknown policy %q (want reject or drop)", a.OnMissing))
	}
}

// file checks a table's file name: a local name inside the input folder
// (filepath.IsLocal), so that reading the table, and copying it into a
// run's folder, stays inside those folders. Empty means the default name.
func (v *validator) file(path, table, file string) {
	if file != "" && !filepath.IsLocal(file) {
		v.add(path, fmt.Sprintf("%s: file %q must be a local name inside the input folder", table, file))
	}
}

func (v *validator) separator(path, sep string) {
	if sep != "" && len([]rune(sep)) != 1 {
		v.add(path, fmt.Sprintf("separator %q must be one character", sep))
	}
	if sep == "\"" || sep == "\n" || sep == "\r" {
		v.add(path, fmt.Sprintf("separator %q is not allowed", sep))
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
