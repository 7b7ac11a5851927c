package threshold

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A Scope is the level at which a limit counts: the whole connector, one
// entity type or one association.
type Scope uint8

// The scopes of verdicts.
const (
	ScopeConnector Scope = iota
	ScopeEntityType
	ScopeAssociation
)

var scopeNames = [...]string{"connector", "entityType", "association"}

// String returns "connector", "entityType" or "association".
func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return "Scope(" + strconv.Itoa(int(s)) + ")"
}

// words returns s in plain words: "entity type".
func (s Scope) words() string {
	if s == ScopeEntityType {
		return "entity type"
	}
	return s.String()
}

// MarshalText implements [encoding.TextMarshaler]; it returns s.String().
func (s Scope) MarshalText() ([]byte, error) {
	if int(s) >= len(scopeNames) {
		return nil, fmt.Errorf("threshold: invalid scope %d", s)
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler].
func (s *Scope) UnmarshalText(text []byte) error {
	for i, name := range scopeNames {
		if string(text) == name {
			*s = Scope(i)
			return nil
		}
	}
	return fmt.Errorf("threshold: invalid scope %q", text)
}

// A Limit is the bound that a verdict applies: a Count for the absolute
// rules (maxDeleted), a Percent for the percentage rules
// (maxPercentDeleted). Exactly one of the two is set.
//
// In JSON a Limit is a number for a count (100) and a string for a
// percentage ("5%").
type Limit struct {
	Count   Count
	Percent Percent
}

// String returns l as it reads in verdicts: "1,000" or "2.5 %".
func (l Limit) String() string {
	if l.isPercent() {
		return l.Percent.String()
	}
	if l.Count.off {
		return "off"
	}
	return group(l.Count.n)
}

func (l Limit) isPercent() bool { return !l.Percent.IsZero() }

// MarshalJSON implements [json.Marshaler]: 100, or "5%".
func (l Limit) MarshalJSON() ([]byte, error) {
	if l.isPercent() {
		text, _ := l.Percent.MarshalText()
		return json.Marshal(string(text) + "%")
	}
	return l.Count.MarshalJSON()
}

// UnmarshalJSON implements [json.Unmarshaler]: a number is a count, a
// string ending in "%" a percentage.
func (l *Limit) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil && strings.HasSuffix(s, "%") {
		p, err := ParsePercent(s)
		*l = Limit{Percent: p}
		return err
	}
	*l = Limit{}
	return l.Count.UnmarshalJSON(data)
}

// A Verdict is the outcome of one rule in one scope.
type Verdict struct {
	// Rule is the limit's name, which is also its YAML key:
	// "maxDeleted", "maxPercentDeleted", "maxLinkInserted", ...
	Rule string `json:"rule"`
	// Scope and Name say where the rule counts: the connector, entity type
	// or association of that name.
	Scope Scope  `json:"scope"`
	Name  string `json:"name"`
	// Count is the number of changes (or rejected rows) counted.
	Count int64 `json:"count"`
	// Denominator is what a percentage is of: the number of resources
	// (links) stored before the run, or the number of rows read for the
	// rejected rows. Absolute rules report it too.
	Denominator int64 `json:"denominator"`
	// Limit is the rule's bound.
	Limit Limit `json:"limit"`
	// Exceeded reports whether Count is greater than Allowed().
	Exceeded bool `json:"exceeded"`
}

// Allowed returns the largest count that passes the verdict's rule: the
// count limit itself, or for a percentage the whole part of that percentage
// of the denominator (5 % of 4,000 is 200; 2.5 % of 1,000 is 25; 33.333 %
// of 10 is 3; any percentage of 0 is 0).
func (v Verdict) Allowed() int64 {
	if v.Limit.isPercent() {
		return percentOf(v.Limit.Percent.micro, v.Denominator)
	}
	return v.Limit.Count.n
}

// String describes v in words, as in
//
//	SAB_User: 312 deletes > maxPercentDeleted 5 % of 4,000 stored (200)
//	SAB: 150 inserts > maxInserted 100
//
// with "<=" instead of ">" when the limit is not exceeded. The number in
// parentheses is Allowed().
func (v Verdict) String() string {
	noun, of := "change", "stored"
	for _, k := range kinds {
		if v.Rule == k.count || v.Rule == k.percent {
			noun, of = k.noun, k.of
		}
	}
	if v.Count != 1 {
		noun += "s"
	}
	op := "<="
	if v.Exceeded {
		op = ">"
	}
	s := fmt.Sprintf("%s: %s %s %s %s %s", label(v.Scope, v.Name), group(v.Count), noun, op, v.Rule, v.Limit)
	if v.Limit.isPercent() {
		s += fmt.Sprintf(" of %s %s (%s)", group(v.Denominator), of, group(v.Allowed()))
	}
	return s
}

// label names a scope in messages: its name, or its kind if unnamed.
func label(s Scope, name string) string {
	if name == "" {
		return s.words()
	}
	return name
}

// group formats n in base 10 with thousands separators: 4,000.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	if s[0] == '-' {
		b.WriteByte('-')
		s = s[1:]
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// A Result is the outcome of [Policy.Evaluate].
type Result struct {
	// Verdicts holds one verdict per active limit, in evaluation order.
	Verdicts []Verdict `json:"verdicts"`
	// Warnings name the kinds of change that no active limit guards, such
	// as "SAB: deletes of SAB_User are not guarded: maxDeleted and
	// maxPercentDeleted are off".
	Warnings []string `json:"warnings,omitempty"`
}

// Exceeded returns the verdicts whose limit is exceeded, in order.
func (r *Result) Exceeded() []Verdict {
	var exceeded []Verdict
	for _, v := range r.Verdicts {
		if v.Exceeded {
			exceeded = append(exceeded, v)
		}
	}
	return exceeded
}

// ErrExceeded is matched by every *ExceededError: a run is blocked because
// a threshold is exceeded. Use errors.Is(err, threshold.ErrExceeded).
var ErrExceeded = errors.New("threshold: limit exceeded")

// An ExceededError is returned by [Policy.Evaluate] when a limit is
// exceeded; it holds every exceeded verdict.
type ExceededError struct {
	Verdicts []Verdict
}

// Error joins the verdicts with "; " after "threshold: ", as in
// "threshold: SAB: 150 inserts > maxInserted 100; SAB_User: 150 inserts >
// maxPercentInserted 5 % of 1,000 stored (50)".
func (e *ExceededError) Error() string {
	if len(e.Verdicts) == 0 {
		return ErrExceeded.Error()
	}
	s := make([]string, len(e.Verdicts))
	for i, v := range e.Verdicts {
		s[i] = v.String()
	}
	return "threshold: " + strings.Join(s, "; ")
}

// Is reports whether target is ErrExceeded.
func (e *ExceededError) Is(target error) bool { return target == ErrExceeded }
