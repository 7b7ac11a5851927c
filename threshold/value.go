package threshold

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Count is an absolute limit: the largest number of changes of one kind
// (or of rejected rows) that a run may have in a scope.
//
// The zero Count, like Max(0), is unset: the limit is not set at this level.
// CountOff returns the explicit "off" that disables a connector-level limit.
// In YAML and JSON a Count is a whole number or the string "off".
type Count struct {
	n   int64
	off bool
}

// Max returns the limit of n changes. Max(0) is the zero Count: unset.
func Max(n int64) Count { return Count{n: n} }

// CountOff returns the Count that disables a limit, written "off" in YAML
// and JSON.
func CountOff() Count { return Count{off: true} }

// IsZero reports whether c is unset (absent or 0).
func (c Count) IsZero() bool { return c == Count{} }

// IsOff reports whether c is the explicit "off" of CountOff.
func (c Count) IsOff() bool { return c.off }

// active reports whether c limits anything: off and unset both hold 0.
func (c Count) active() bool { return c.n != 0 }

// String returns the text form of c: "100", "off", or "0" when unset.
func (c Count) String() string {
	if c.off {
		return "off"
	}
	return strconv.FormatInt(c.n, 10)
}

// MarshalText implements [encoding.TextMarshaler]; it returns c.String().
func (c Count) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]. It accepts a
// base-10 whole number or "off" (in any letter case). Negative numbers are
// accepted here and reported by [Limits.Validate].
func (c *Count) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if strings.EqualFold(s, "off") {
		*c = CountOff()
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("threshold: count %q out of range", s)
		}
		return fmt.Errorf("threshold: invalid count %q: want a whole number or off", s)
	}
	*c = Max(n)
	return nil
}

// MarshalJSON implements [json.Marshaler]: a number, or "off".
func (c Count) MarshalJSON() ([]byte, error) {
	if c.off {
		return []byte(`"off"`), nil
	}
	return strconv.AppendInt(nil, c.n, 10), nil
}

// UnmarshalJSON implements [json.Unmarshaler]. It accepts a number or a
// string as UnmarshalText does; null leaves c unchanged.
func (c *Count) UnmarshalJSON(data []byte) error { return unmarshalJSON(c, data) }

// MarshalYAML makes go.yaml.in/yaml/v3 write c as a plain number, or off.
func (c Count) MarshalYAML() (any, error) {
	if c.off {
		return "off", nil
	}
	return c.n, nil
}

// A Percent counts in millionths of a percent: scale of them make one
// percent, hundred make 100 %, and text has at most decimals decimals.
const (
	scale    = 1_000_000
	decimals = 6
	hundred  = 100 * scale
)

// A Percent is a percentage limit, stored exactly as a whole number of
// millionths of a percent, so 2.5 and 33.333 compare with no rounding.
//
// The zero Percent, like Pct(0), is unset: the limit is not set at this
// level. PercentOff returns the explicit "off" that disables a
// connector-level limit. In YAML and JSON a Percent is a number with at most
// six decimals, optionally followed by "%", or the string "off".
type Percent struct {
	micro int64 // millionths of a percent
	off   bool
}

// Pct returns the limit of n percent. Pct(0) is the zero Percent: unset.
// For a fractional percentage use [ParsePercent].
func Pct(n int64) Percent {
	switch {
	case n > math.MaxInt64/scale:
		return Percent{micro: math.MaxInt64}
	case n < -math.MaxInt64/scale:
		return Percent{micro: -math.MaxInt64}
	}
	return Percent{micro: n * scale}
}

// PercentOff returns the Percent that disables a limit, written "off" in
// YAML and JSON.
func PercentOff() Percent { return Percent{off: true} }

// ParsePercent parses a percentage such as "5", "2.5", "0.1%", "33.333 %"
// or "off", exactly: it accepts at most six decimals and no exponent.
// Values out of 0–100 parse and are reported by [Limits.Validate].
func ParsePercent(s string) (Percent, error) {
	var p Percent
	err := p.UnmarshalText([]byte(s))
	return p, err
}

// MustParsePercent is like ParsePercent but panics if s does not parse. It
// simplifies initializing limits from constants.
func MustParsePercent(s string) Percent {
	p, err := ParsePercent(s)
	if err != nil {
		panic(err)
	}
	return p
}

// IsZero reports whether p is unset (absent or 0).
func (p Percent) IsZero() bool { return p == Percent{} }

// IsOff reports whether p is the explicit "off" of PercentOff.
func (p Percent) IsOff() bool { return p.off }

// active reports whether p limits anything: off and unset both hold 0.
func (p Percent) active() bool { return p.micro != 0 }

// String returns p as it reads in verdicts: "5 %", "2.5 %", or "off".
// ParsePercent accepts it back.
func (p Percent) String() string {
	if p.off {
		return "off"
	}
	return p.number() + " %"
}

// number returns p as a number of percent: "2.5", "-1", "0".
func (p Percent) number() string {
	u, sign := uint64(p.micro), ""
	if p.micro < 0 {
		u, sign = -u, "-"
	}
	s := sign + strconv.FormatUint(u/scale, 10)
	if frac := u % scale; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%0*d", decimals, frac), "0")
	}
	return s
}

// MarshalText implements [encoding.TextMarshaler]: the number of percent
// without "%" ("2.5"), or "off".
func (p Percent) MarshalText() ([]byte, error) {
	if p.off {
		return []byte("off"), nil
	}
	return []byte(p.number()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] as ParsePercent does.
func (p *Percent) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if strings.EqualFold(s, "off") {
		*p = PercentOff()
		return nil
	}
	num := strings.TrimSpace(strings.TrimSuffix(s, "%"))
	neg := strings.HasPrefix(num, "-")
	if neg {
		num = num[1:]
	}
	whole, frac, _ := strings.Cut(num, ".")
	if whole+frac == "" || !isDigits(whole) || !isDigits(frac) {
		return fmt.Errorf("threshold: invalid percentage %q: want a number or off", s)
	}
	if len(frac) > decimals {
		return fmt.Errorf("threshold: percentage %q has more than %d decimals", s, decimals)
	}
	w, err := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt(frac+strings.Repeat("0", decimals-len(frac)), 10, 64)
	if err != nil || w > (math.MaxInt64-f)/scale {
		return fmt.Errorf("threshold: percentage %q out of range", s)
	}
	micro := w*scale + f
	if neg {
		micro = -micro
	}
	*p = Percent{micro: micro}
	return nil
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MarshalJSON implements [json.Marshaler]: a number such as 2.5, or "off".
func (p Percent) MarshalJSON() ([]byte, error) {
	if p.off {
		return []byte(`"off"`), nil
	}
	return []byte(p.number()), nil
}

// UnmarshalJSON implements [json.Unmarshaler]. It accepts a number or a
// string as UnmarshalText does; null leaves p unchanged.
func (p *Percent) UnmarshalJSON(data []byte) error { return unmarshalJSON(p, data) }

// MarshalYAML makes go.yaml.in/yaml/v3 write p as a plain number when that
// number reads back exactly (5, 2.5, 33.333), as a quoted string otherwise
// ("0.000001"), or off.
func (p Percent) MarshalYAML() (any, error) {
	switch {
	case p.off:
		return "off", nil
	case p.micro%scale == 0:
		return p.micro / scale, nil
	}
	s := p.number()
	if f, err := strconv.ParseFloat(s, 64); err == nil && strconv.FormatFloat(f, 'g', -1, 64) == s {
		return f, nil
	}
	return s, nil
}

// unmarshalJSON decodes a JSON number or string into u as text.
func unmarshalJSON(u encoding.TextUnmarshaler, data []byte) error {
	if string(data) == "null" {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		data = []byte(s)
	}
	return u.UnmarshalText(data)
}
