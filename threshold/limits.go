package threshold

import (
	"fmt"
	"slices"
)

// Limits are the thresholds set at one level: a connector, an entity type or
// an association. The zero Limits sets nothing.
//
// At the connector level every field applies, counted over all the
// connector's entity types and associations, and an unset field takes its
// value from [DefaultLimits]. At the entity-type level only the resource and
// rejected-row limits apply, at the association level only the link and
// rejected-row limits, and an unset or off field means that no limit is set
// at that level (the connector's still applies). The YAML and JSON keys,
// which are also the rule names of verdicts, are the field names in lower
// camel case.
type Limits struct {
	// MaxInserted, MaxUpdated and MaxDeleted limit the number of resources
	// inserted, updated and deleted.
	MaxInserted Count `yaml:"maxInserted,omitempty" json:"maxInserted,omitzero"`
	MaxUpdated  Count `yaml:"maxUpdated,omitempty" json:"maxUpdated,omitzero"`
	MaxDeleted  Count `yaml:"maxDeleted,omitempty" json:"maxDeleted,omitzero"`

	// MaxPercentInserted, MaxPercentUpdated and MaxPercentDeleted limit the
	// same numbers as a percentage of the resources currently stored.
	MaxPercentInserted Percent `yaml:"maxPercentInserted,omitempty" json:"maxPercentInserted,omitzero"`
	MaxPercentUpdated  Percent `yaml:"maxPercentUpdated,omitempty" json:"maxPercentUpdated,omitzero"`
	MaxPercentDeleted  Percent `yaml:"maxPercentDeleted,omitempty" json:"maxPercentDeleted,omitzero"`

	// MaxLinkInserted and MaxLinkDeleted limit the number of links inserted
	// and deleted. Links are never updated: a changed link is a deleted link
	// and an inserted one.
	MaxLinkInserted Count `yaml:"maxLinkInserted,omitempty" json:"maxLinkInserted,omitzero"`
	MaxLinkDeleted  Count `yaml:"maxLinkDeleted,omitempty" json:"maxLinkDeleted,omitzero"`

	// MaxLinkPercentInserted and MaxLinkPercentDeleted limit the same
	// numbers as a percentage of the links currently stored.
	MaxLinkPercentInserted Percent `yaml:"maxLinkPercentInserted,omitempty" json:"maxLinkPercentInserted,omitzero"`
	MaxLinkPercentDeleted  Percent `yaml:"maxLinkPercentDeleted,omitempty" json:"maxLinkPercentDeleted,omitzero"`

	// MaxRejected limits the number of rows that Prepare rejected (null or
	// duplicate key, unconvertible value, dangling reference), and
	// MaxPercentRejected the same number as a percentage of the rows read.
	MaxRejected        Count   `yaml:"maxRejected,omitempty" json:"maxRejected,omitzero"`
	MaxPercentRejected Percent `yaml:"maxPercentRejected,omitempty" json:"maxPercentRejected,omitzero"`
}

// DefaultLimits returns the connector-level defaults: 100 resources and 5 %
// of the stored resources inserted, updated or deleted; 1,000 links and 5 %
// of the stored links inserted or deleted; 5 % of the rows read rejected,
// with no absolute limit on rejected rows (MaxRejected is off), so that a
// large input with a few bad rows runs while a mostly invalid one blocks.
func DefaultLimits() Limits {
	return Limits{
		MaxInserted:            Max(100),
		MaxUpdated:             Max(100),
		MaxDeleted:             Max(100),
		MaxPercentInserted:     Pct(5),
		MaxPercentUpdated:      Pct(5),
		MaxPercentDeleted:      Pct(5),
		MaxLinkInserted:        Max(1000),
		MaxLinkDeleted:         Max(1000),
		MaxLinkPercentInserted: Pct(5),
		MaxLinkPercentDeleted:  Pct(5),
		MaxRejected:            CountOff(),
		MaxPercentRejected:     Pct(5),
	}
}

// Off returns Limits with every limit explicitly off: at the connector
// level, nothing blocks a run, and every verdict warns that nothing is
// guarded. It is for tests, tools and first loads reviewed by other means;
// a production connector should keep limits on.
func Off() Limits {
	return Limits{
		MaxInserted:            CountOff(),
		MaxUpdated:             CountOff(),
		MaxDeleted:             CountOff(),
		MaxPercentInserted:     PercentOff(),
		MaxPercentUpdated:      PercentOff(),
		MaxPercentDeleted:      PercentOff(),
		MaxLinkInserted:        CountOff(),
		MaxLinkDeleted:         CountOff(),
		MaxLinkPercentInserted: PercentOff(),
		MaxLinkPercentDeleted:  PercentOff(),
		MaxRejected:            CountOff(),
		MaxPercentRejected:     PercentOff(),
	}
}

// IsZero reports whether l sets nothing.
func (l Limits) IsZero() bool { return l == Limits{} }

// Validate returns every invalid value of l: a negative count, a negative
// percentage or one over 100. Each error is prefixed by path and the field's
// key, as in "connectors[0].thresholds.maxPercentDeleted: percentage 120
// over 100". Validate returns nil if l is valid.
func (l Limits) Validate(path string) []error {
	var errs []error
	for k := range numKinds {
		c, p := l.field(k)
		if c.n < 0 {
			errs = append(errs, fmt.Errorf("%s: negative count %d", key(path, k.countRule()), c.n))
		}
		switch {
		case p.micro < 0:
			errs = append(errs, fmt.Errorf("%s: negative percentage %s", key(path, k.percentRule()), p.number()))
		case p.micro > hundred:
			errs = append(errs, fmt.Errorf("%s: percentage %s over 100", key(path, k.percentRule()), p.number()))
		}
	}
	return errs
}

// ValidateFor is like Validate and also reports the fields that do not
// apply at the level s: link limits on an entity type, resource limits on
// an association. Such a field would otherwise be silently ignored.
func (l Limits) ValidateFor(s Scope, path string) []error {
	errs := l.Validate(path)
	for k := range numKinds {
		if slices.Contains(s.kinds(), k) {
			continue
		}
		c, p := l.field(k)
		if !c.IsZero() {
			errs = append(errs, fmt.Errorf("%s: not a limit of an %s", key(path, k.countRule()), s.words()))
		}
		if !p.IsZero() {
			errs = append(errs, fmt.Errorf("%s: not a limit of an %s", key(path, k.percentRule()), s.words()))
		}
	}
	return errs
}

func key(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// withDefaults returns l with its unset fields taken from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for k := range numKinds {
		c, p := l.field(k)
		dc, dp := d.field(k)
		if c.IsZero() {
			*c = *dc
		}
		if p.IsZero() {
			*p = *dp
		}
	}
	return l
}

// guards reports whether l has an active limit on changes of kind k.
func (l Limits) guards(k kind) bool {
	c, p := l.field(k)
	return c.active() || p.active()
}

// field returns the count and percentage fields of l for kind k.
func (l *Limits) field(k kind) (*Count, *Percent) {
	switch k {
	case inserts:
		return &l.MaxInserted, &l.MaxPercentInserted
	case updates:
		return &l.MaxUpdated, &l.MaxPercentUpdated
	case deletes:
		return &l.MaxDeleted, &l.MaxPercentDeleted
	case linkInserts:
		return &l.MaxLinkInserted, &l.MaxLinkPercentInserted
	case linkDeletes:
		return &l.MaxLinkDeleted, &l.MaxLinkPercentDeleted
	default:
		return &l.MaxRejected, &l.MaxPercentRejected
	}
}

// A kind is what a pair of limits counts.
type kind int

const (
	inserts kind = iota
	updates
	deletes
	linkInserts
	linkDeletes
	rejected
	numKinds
)

// kinds describes each kind: its rule names and how verdicts read.
var kinds = [numKinds]struct {
	count, percent string // rule names
	noun           string // what one counted thing is
	of             string // what the denominator counts
}{
	inserts:     {"maxInserted", "maxPercentInserted", "insert", "stored"},
	updates:     {"maxUpdated", "maxPercentUpdated", "update", "stored"},
	deletes:     {"maxDeleted", "maxPercentDeleted", "delete", "stored"},
	linkInserts: {"maxLinkInserted", "maxLinkPercentInserted", "link insert", "stored"},
	linkDeletes: {"maxLinkDeleted", "maxLinkPercentDeleted", "link delete", "stored"},
	rejected:    {"maxRejected", "maxPercentRejected", "rejected row", "read"},
}

func (k kind) countRule() string   { return kinds[k].count }
func (k kind) percentRule() string { return kinds[k].percent }
func (k kind) link() bool          { return k == linkInserts || k == linkDeletes }

// kinds returns the kinds limited at level s, in verdict order.
func (s Scope) kinds() []kind {
	switch s {
	case ScopeEntityType:
		return []kind{inserts, updates, deletes, rejected}
	case ScopeAssociation:
		return []kind{linkInserts, linkDeletes, rejected}
	}
	return []kind{inserts, updates, deletes, linkInserts, linkDeletes, rejected}
}
