package threshold

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// A Policy holds the thresholds of one connector at its three levels. A nil
// *Policy, like the zero Policy, applies DefaultLimits at the connector
// level and nothing more.
type Policy struct {
	// Connector holds the connector-level limits; its unset fields take the
	// values of DefaultLimits.
	Connector Limits `yaml:"connector,omitempty" json:"connector,omitzero"`
	// EntityTypes holds the limits of each entity type, by name.
	EntityTypes map[string]Limits `yaml:"entityTypes,omitempty" json:"entityTypes,omitempty"`
	// Associations holds the limits of each association, by name.
	Associations map[string]Limits `yaml:"associations,omitempty" json:"associations,omitempty"`
}

// Counters are the counts of one run's change set, per entity type and per
// association of a connector. The connector-level counts are their sums.
type Counters struct {
	// Connector names the connector; it names the connector-level verdicts.
	Connector    string         `json:"connector"`
	EntityTypes  []EntityCounts `json:"entityTypes,omitempty"`
	Associations []LinkCounts   `json:"associations,omitempty"`
}

// EntityCounts are the counts of one entity type.
type EntityCounts struct {
	// Name names the entity type.
	Name string `json:"name"`
	// Stored is the number of resources in the store before the run: the
	// denominator of the percentage limits.
	Stored int64 `json:"stored"`
	// Read is the number of rows read from the extraction, and Rejected
	// the number of them that Prepare rejected.
	Read     int64 `json:"read"`
	Rejected int64 `json:"rejected"`
	// Inserted, Updated, Deleted and Unchanged count the resources of the
	// change set. Unchanged is informative: no limit applies to it.
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Deleted   int64 `json:"deleted"`
	Unchanged int64 `json:"unchanged"`
}

// LinkCounts are the counts of one association.
type LinkCounts struct {
	// Name names the association.
	Name string `json:"name"`
	// Stored is the number of links in the store before the run: the
	// denominator of the percentage limits.
	Stored int64 `json:"stored"`
	// Read is the number of rows read, and Rejected the number of them
	// that Prepare rejected.
	Read     int64 `json:"read"`
	Rejected int64 `json:"rejected"`
	// Inserted and Deleted count the links of the change set.
	Inserted int64 `json:"inserted"`
	Deleted  int64 `json:"deleted"`
}

// Validate returns every problem of p: the errors of [Limits.Validate] at
// the connector level and of [Limits.ValidateFor] at the others, with paths
// such as `entityTypes["SAB_User"].maxPercentDeleted`, entity types and
// associations in name order. Validate returns nil if p is valid.
func (p *Policy) Validate() []error {
	if p == nil {
		return nil
	}
	errs := p.Connector.Validate("connector")
	for _, name := range slices.Sorted(maps.Keys(p.EntityTypes)) {
		errs = append(errs, p.EntityTypes[name].ValidateFor(ScopeEntityType, fmt.Sprintf("entityTypes[%q]", name))...)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Associations)) {
		errs = append(errs, p.Associations[name].ValidateFor(ScopeAssociation, fmt.Sprintf("associations[%q]", name))...)
	}
	return errs
}

// Evaluate checks the counters c against every active limit of p and
// returns a verdict for each: first the connector's, then those of the
// entity types and of the associations in the order of c's slices, each
// scope's rules in the order inserts, updates, deletes, link inserts, link
// deletes, rejected rows, the count before the percentage. The result also
// warns of every kind of change that no active limit guards.
//
// If any limit is exceeded, Evaluate returns the result and an
// *ExceededError holding the exceeded verdicts. It returns a nil result and
// an error if p is invalid (see [Policy.Validate]) or a counter is
// negative, or if a connector total overflows int64. A nil c counts nothing.
func (p *Policy) Evaluate(c *Counters) (*Result, error) {
	if p == nil {
		p = new(Policy)
	}
	if errs := p.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("threshold: invalid policy: %w", errors.Join(errs...))
	}
	if c == nil {
		c = new(Counters)
	}

	var total tally
	entities := make([]tally, len(c.EntityTypes))
	for i, e := range c.EntityTypes {
		entities[i] = e.tally()
		if !entities[i].valid() {
			return nil, fmt.Errorf("threshold: entity type %s: negative counter in %+v", e.Name, e)
		}
		if !total.add(entities[i]) {
			return nil, fmt.Errorf("threshold: connector %s: counters overflow int64", c.Connector)
		}
	}
	links := make([]tally, len(c.Associations))
	for i, a := range c.Associations {
		links[i] = a.tally()
		if !links[i].valid() {
			return nil, fmt.Errorf("threshold: association %s: negative counter in %+v", a.Name, a)
		}
		if !total.add(links[i]) {
			return nil, fmt.Errorf("threshold: connector %s: counters overflow int64", c.Connector)
		}
	}

	connector := p.Connector.withDefaults()
	r := new(Result)
	r.check(ScopeConnector, c.Connector, connector, total)
	for i, e := range c.EntityTypes {
		r.check(ScopeEntityType, e.Name, p.EntityTypes[e.Name], entities[i])
	}
	for i, a := range c.Associations {
		r.check(ScopeAssociation, a.Name, p.Associations[a.Name], links[i])
	}
	r.Warnings = p.unguarded(c, connector)
	if v := r.Exceeded(); len(v) > 0 {
		return r, &ExceededError{Verdicts: v}
	}
	return r, nil
}

// check appends the verdicts of the active limits l of scope s to r.
func (r *Result) check(s Scope, name string, l Limits, t tally) {
	for _, k := range s.kinds() {
		add := func(rule string, limit Limit) {
			v := Verdict{Rule: rule, Scope: s, Name: name, Count: t.count[k], Denominator: t.of[k], Limit: limit}
			v.Exceeded = v.Count > v.Allowed()
			r.Verdicts = append(r.Verdicts, v)
		}
		c, p := l.field(k)
		if c.active() {
			add(k.countRule(), Limit{Count: *c})
		}
		if p.active() {
			add(k.percentRule(), Limit{Percent: *p})
		}
	}
}

// unguarded returns a warning for each kind of change that no active limit
// guards in some scope: the connector's limits on it are off and an entity
// type (association) has none of its own.
func (p *Policy) unguarded(c *Counters, connector Limits) []string {
	var warnings []string
	for _, k := range []kind{inserts, updates, deletes, linkInserts, linkDeletes} {
		if connector.guards(k) {
			continue
		}
		var scopes, names []string
		if k.link() {
			for _, a := range c.Associations {
				scopes = append(scopes, a.Name)
				if !p.Associations[a.Name].guards(k) {
					names = append(names, a.Name)
				}
			}
		} else {
			for _, e := range c.EntityTypes {
				scopes = append(scopes, e.Name)
				if !p.EntityTypes[e.Name].guards(k) {
					names = append(names, e.Name)
				}
			}
		}
		if len(scopes) > 0 && len(names) == 0 {
			continue
		}
		what := kinds[k].noun + "s"
		if len(names) > 0 {
			what += " of " + strings.Join(names, ", ")
		}
		warnings = append(warnings, fmt.Sprintf("%s: %s are not guarded: %s and %s are off",
			label(ScopeConnector, c.Connector), what, k.countRule(), k.percentRule()))
	}
	return warnings
}

// A tally holds, for each kind, the count of a scope and the denominator of
// its percentage.
type tally struct {
	count, of [numKinds]int64
}

func (e EntityCounts) tally() tally {
	var t tally
	t.count[inserts], t.of[inserts] = e.Inserted, e.Stored
	t.count[updates], t.of[updates] = e.Updated, e.Stored
	t.count[deletes], t.of[deletes] = e.Deleted, e.Stored
	t.count[rejected], t.of[rejected] = e.Rejected, e.Read
	return t
}

func (a LinkCounts) tally() tally {
	var t tally
	t.count[linkInserts], t.of[linkInserts] = a.Inserted, a.Stored
	t.count[linkDeletes], t.of[linkDeletes] = a.Deleted, a.Stored
	t.count[rejected], t.of[rejected] = a.Rejected, a.Read
	return t
}

// valid reports whether no counter of t is negative.
func (t tally) valid() bool {
	return slices.Min(t.count[:]) >= 0 && slices.Min(t.of[:]) >= 0
}

// add adds the non-negative u to t and reports whether no sum overflowed.
func (t *tally) add(u tally) bool {
	for k := range numKinds {
		if t.count[k] > math.MaxInt64-u.count[k] || t.of[k] > math.MaxInt64-u.of[k] {
			return false
		}
		t.count[k] += u.count[k]
		t.of[k] += u.of[k]
	}
	return true
}

// percentOf returns the whole part of micro millionths of a percent of n,
// computed exactly in 128 bits; math.MaxInt64 if it does not fit.
func percentOf(micro, n int64) int64 {
	if micro <= 0 || n <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(micro), uint64(n))
	if hi >= hundred {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, hundred)
	return int64(min(q, math.MaxInt64))
}
