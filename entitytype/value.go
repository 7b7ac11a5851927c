package entitytype

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidValue is matched by [errors.Is] for every error that
// [Converter.Convert] returns: the raw value is not valid for the property's
// kind and format.
var ErrInvalidValue = errors.New("entitytype: invalid value")

// ValueError reports a raw value that cannot be converted to its canonical
// form. It matches [ErrInvalidValue].
type ValueError struct {
	// Kind is the property's kind.
	Kind Kind
	// Format is the expected format as a person reads it ("dd/MM/yyyy",
	// "true/1/yes/y/t/on or false/0/no/n/f/off"); empty when the kind has
	// a single format.
	Format string
	// Raw is the rejected value as read (for a multi-valued property: the
	// rejected part).
	Raw string
	// Reason tells what is wrong ("day out of range"); it may be empty.
	Reason string
}

// Error returns a message such as
// `entitytype: "31/02/2024" is not a date in format dd/MM/yyyy: day out of range`.
func (e *ValueError) Error() string {
	var b strings.Builder
	b.WriteString("entitytype: ")
	raw := e.Raw
	if len(raw) > 80 {
		raw = strings.ToValidUTF8(raw[:77], "") + "..."
	}
	b.WriteString(strconv.Quote(raw))
	b.WriteString(" is not ")
	b.WriteString(kindNoun(e.Kind))
	if e.Format != "" {
		switch e.Kind {
		case Date, DateTime, Binary:
			b.WriteString(" in format ")
			b.WriteString(e.Format)
		default:
			b.WriteString(" (expected ")
			b.WriteString(e.Format)
			b.WriteString(")")
		}
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Unwrap returns [ErrInvalidValue].
func (e *ValueError) Unwrap() error { return ErrInvalidValue }

func kindNoun(k Kind) string {
	switch k {
	case Int:
		return "an int"
	case Binary:
		return "a binary value"
	case GUID:
		return "a GUID"
	case String, Decimal, Bool, Date, DateTime, Ref:
		return "a " + k.String()
	}
	return "a value of " + k.String()
}

// PropertyError reports a property field that [NewConverter] or
// [CompileExpression] rejects. Its message starts with the field's YAML
// name ("format: ..."), so that a caller can prefix it with the property's
// path and a dot: properties[1].format: unknown pattern letters "Q" ...
type PropertyError struct {
	// Field is the YAML name of the field: type, format, timeZone,
	// trueValues, falseValues, separator or expression.
	Field string
	// Message tells what is wrong with it.
	Message string
}

// Error returns Field + ": " + Message.
func (e *PropertyError) Error() string { return e.Field + ": " + e.Message }

func fieldError(field, format string, args ...any) error {
	return &PropertyError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Converter converts the raw text values of one property to their canonical
// form (see [Kind]). Build it once per property with [NewConverter]; it is
// immutable and safe for concurrent use.
type Converter struct {
	kind   Kind
	format string // the expected format as a person reads it
	multi  bool
	sep    string

	comma         bool     // Decimal: ',' is the decimal separator instead of '.'
	hex           bool     // Binary: raw values are hexadecimal
	trues, falses []string // Bool spellings
	date          *dateFormat
}

var (
	defaultTrues  = []string{"true", "1", "yes", "y", "t", "on"}
	defaultFalses = []string{"false", "0", "no", "n", "f", "off"}
)

// NewConverter returns the converter of p's values. It checks the fields
// that tell how values are written (Type, Format, TimeZone, TrueValues,
// FalseValues, Separator) and returns a [*PropertyError] naming the
// offending one.
//
// Formats by kind:
//   - Decimal: "" or "point" ('.' is the decimal separator), or "comma"
//     (',' is, and '.' is rejected).
//   - Binary: "" or "base64" (standard or URL-safe, padded or not), or "hex".
//   - Date and DateTime: a pattern or an encoding, see below.
//   - Other kinds take no format.
//
// # Date and DateTime formats
//
// A pattern is written the way .NET and Java integrators write them:
//
//	yyyy  4-digit year           yy    2-digit year: 00-49 → 20xx, 50-99 → 19xx
//	MM    2-digit month          M     month, 1 or 2 digits
//	MMM   month abbreviation     MMMM  month name (English, any letter case)
//	dd    2-digit day            d     day, 1 or 2 digits
//	ddd   weekday abbreviation   dddd  weekday name (also EEE, EEEE; checked)
//	HH    hour 00-23             H     hour 0-23, 1 or 2 digits
//	hh    hour 01-12             h     hour 1-12 (needs tt or a)
//	tt, a AM or PM               t     A or P
//	mm    minute (m: 1-2 digits) ss    second (s: 1-2 digits)
//	f…    exactly that many fractional-second digits (also S…)
//	F…    up to that many; the '.' before F… may be absent with them
//	zzz, XXX, Z, x  offset: Z, ±hh:mm, ±hhmm or ±hh
//	K     optional offset
//
// Any other character is literal ('-', '/', '.', ':', ' ', 'T', ...); other
// letters are rejected unless quoted ('at') or escaped (\a). A time of day or
// an offset in a pattern for a Date is parsed and checked, then ignored: the
// date is the one written.
//
// Encodings (names in any letter case): "ldap" (generalized time:
// yyyyMMddHH[mm[ss[.f]]] and an optional Z or ±hhmm, e.g.
// 20240102150405.0Z), "filetime" (Windows FILETIME: decimal count of 100 ns
// ticks since 1601-01-01 UTC; 0 and 9223372036854775807 mean "never" and
// convert to null), "unix" (seconds since 1970-01-01 UTC, with an optional
// fraction), "unixms" (milliseconds), "excel" (serial day number with an
// optional fraction of a day, 1900 date system, read to the millisecond)
// and "rfc3339" (read as the empty format, but as an instant, see below).
// An empty format (or "iso") is ISO 8601: yyyy-MM-dd, optionally followed
// by 'T' or a space, HH:mm[:ss[.f]] and an offset (Z, ±hh:mm, ±hhmm, ±hh).
// Canonical values have years 0000 to 9999; others are rejected.
//
// Whatever the declared format, the canonical ISO 8601 forms are also
// accepted, since spreadsheet date cells are read as ISO text: yyyy-MM-dd,
// and yyyy-MM-ddTHH:mm:ss with an optional fraction and offset (read as
// written for a Date). This is unambiguous: they start with a 4-digit year
// and a hyphen, which only a pattern starting with yyyy- can also match, and
// for those the fallback applies only when the pattern is in ISO order
// (yyyy-MM-dd...).
//
// # Time zones
//
// TimeZone (an IANA name, UTC when empty) is the zone of a DateTime written
// without an offset; an offset in the value always wins. A local time that
// does not exist (in a daylight-saving gap) is moved forward by the gap's
// length; an ambiguous one (the hour repeated in autumn) is its first
// occurrence, in daylight-saving time (as java.time does).
//
// A Date is the date as written, whatever time of day or offset follows it,
// except for the encodings that denote instants (filetime, unix, unixms,
// and ldap and rfc3339 values with an offset): their date is the date of
// the instant in TimeZone.
func NewConverter(p *Property) (*Converter, error) {
	if p == nil {
		return nil, fieldError("type", "nil property")
	}
	c := &Converter{kind: p.Type}
	if c.kind == 0 {
		c.kind = String
	}
	if c.kind > Ref {
		return nil, fieldError("type", "unknown kind %d", uint8(c.kind))
	}
	if p.MultiValued {
		c.multi = true
		c.sep = p.Separator
		if c.sep == "" {
			c.sep = "|"
		}
	} else if p.Separator != "" {
		return nil, fieldError("separator", "only a multi-valued property has a separator")
	}
	if p.TimeZone != "" && c.kind != Date && c.kind != DateTime {
		return nil, fieldError("timeZone", "a %s property has no time zone", c.kind)
	}
	if (len(p.TrueValues) > 0 || len(p.FalseValues) > 0) && c.kind != Bool {
		field := "trueValues"
		if len(p.TrueValues) == 0 {
			field = "falseValues"
		}
		return nil, fieldError(field, "only a bool property has bool spellings")
	}
	switch c.kind {
	case Decimal:
		switch strings.ToLower(p.Format) {
		case "", "point", "dot":
		case "comma":
			c.comma = true
			c.format = "decimal comma, e.g. 1234,5"
		default:
			return nil, fieldError("format", "unknown decimal format %q (want point or comma)", p.Format)
		}
	case Binary:
		switch strings.ToLower(p.Format) {
		case "", "base64":
			c.format = "base64"
		case "hex":
			c.hex = true
			c.format = "hex"
		default:
			return nil, fieldError("format", "unknown binary format %q (want base64 or hex)", p.Format)
		}
	case Bool:
		if p.Format != "" {
			return nil, fieldError("format", "a bool property takes no format; set trueValues and falseValues")
		}
		if err := c.setSpellings(p.TrueValues, p.FalseValues); err != nil {
			return nil, err
		}
	case Date, DateTime:
		f, err := newDateFormat(c.kind, p.Format)
		if err != nil {
			return nil, fieldError("format", "%s", err)
		}
		if p.TimeZone != "" && p.TimeZone != "UTC" {
			if p.TimeZone == "Local" {
				return nil, fieldError("timeZone", `"Local" depends on the host; name the zone ("Europe/Paris")`)
			}
			loc, err := time.LoadLocation(p.TimeZone)
			if err != nil {
				return nil, fieldError("timeZone", "unknown time zone %q", p.TimeZone)
			}
			f.loc = loc
		}
		c.date = f
		c.format = f.desc
	default:
		if p.Format != "" {
			return nil, fieldError("format", "a %s property takes no format", c.kind)
		}
	}
	return c, nil
}

// setSpellings sets the bool spellings: the defaults, or exactly the given
// ones when either list is set.
func (c *Converter) setSpellings(trues, falses []string) error {
	if len(trues) == 0 && len(falses) == 0 {
		c.trues, c.falses = defaultTrues, defaultFalses
	} else {
		c.trues = make([]string, len(trues))
		for i, s := range trues {
			if c.trues[i] = strings.TrimSpace(s); c.trues[i] == "" {
				return fieldError("trueValues", "spelling %d is empty (an empty value is null)", i+1)
			}
		}
		c.falses = make([]string, len(falses))
		for i, s := range falses {
			if c.falses[i] = strings.TrimSpace(s); c.falses[i] == "" {
				return fieldError("falseValues", "spelling %d is empty (an empty value is null)", i+1)
			}
			for _, t := range c.trues {
				if strings.EqualFold(t, c.falses[i]) {
					return fieldError("falseValues", "%q is also in trueValues", s)
				}
			}
		}
	}
	c.format = strings.Join(c.trues, "/") + " or " + strings.Join(c.falses, "/")
	return nil
}

// Kind returns the kind of the values the converter produces.
func (c *Converter) Kind() Kind { return c.kind }

// Format returns the expected format of raw values as a person reads it
// ("dd/MM/yyyy", "Windows FILETIME (100 ns ticks since 1601-01-01 UTC)"), or
// "" when the kind has a single format (Int, GUID, String...). It is the
// Format of the [ValueError]s that Convert returns.
func (c *Converter) Format() string { return c.format }

// Convert returns the canonical form of raw, or a [*ValueError]. An empty
// raw value (after trimming spaces, except for String and Ref) is null and
// converts to "" without error. For String and Ref, raw is returned
// unchanged without allocating; for the other kinds, a raw value already in
// canonical form is returned without allocating, and a value that is not
// costs one allocation.
//
// A multi-valued raw value is split at the separator; each part is trimmed,
// empty parts are dropped, the others converted, sorted by their canonical
// text (byte order), deduplicated and joined by [MultiSep].
func (c *Converter) Convert(raw string) (string, error) {
	if c.multi {
		return c.convertMulti(raw)
	}
	return c.convert(raw)
}

func (c *Converter) convert(raw string) (string, error) {
	if c.kind == String || c.kind == Ref {
		return raw, nil
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", nil
	}
	var (
		out, reason string
		ok          bool
	)
	switch c.kind {
	case Int:
		out, reason, ok = convertInt(s)
	case Decimal:
		out, reason, ok = convertDecimal(s, c.comma)
	case Bool:
		out, ok = c.convertBool(s)
	case Date, DateTime:
		out, reason, ok = c.date.convert(s, c.kind)
	case GUID:
		out, reason, ok = convertGUID(s)
	case Binary:
		out, reason, ok = convertBinary(s, c.hex)
	}
	if !ok {
		return "", &ValueError{Kind: c.kind, Format: c.format, Raw: raw, Reason: reason}
	}
	return out, nil
}

func (c *Converter) convertMulti(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	parts := strings.Split(raw, c.sep)
	vals := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := c.convert(p)
		if err != nil {
			return "", err
		}
		if strings.Contains(v, MultiSep) {
			return "", &ValueError{Kind: c.kind, Format: c.format, Raw: p, Reason: "contains the unit separator U+001F"}
		}
		if v != "" {
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	return strings.Join(slices.Compact(vals), MultiSep), nil
}

// convertInt converts a 64-bit integer with an optional sign.
func convertInt(s string) (string, string, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return "", "out of the 64-bit range", false
		}
		return "", "", false
	}
	// Canonical already: no '+', no leading zero, not "-0".
	d := strings.TrimPrefix(s, "-")
	if s[0] != '+' && (d[0] != '0' || s == "0") {
		return s, "", true
	}
	return strconv.FormatInt(n, 10), "", true
}

// convertDecimal normalises a decimal number on its text: an optional sign,
// digits with at most one decimal separator ('.', or ',' when comma), and
// an optional exponent.
func convertDecimal(s string, comma bool) (string, string, bool) {
	sep := byte('.')
	if comma {
		sep = ','
	}
	i := 0
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	var frac string
	if i < len(s) && s[i] == sep {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[start:i]
	}
	if intPart == "" && frac == "" {
		return "", "", false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return "", "", false
		}
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp = exp*10 + int(s[i]-'0'); exp > maxDecimalExp {
				return "", "exponent out of range", false
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		if s[i] == '.' || s[i] == ',' {
			return "", "thousands separators are not allowed", false
		}
		return "", "", false
	}

	// The digits are intPart+frac with the point after len(intPart)+exp
	// digits; drop leading and trailing zeros.
	point := len(intPart) + exp
	for intPart != "" && intPart[0] == '0' {
		intPart, point = intPart[1:], point-1
	}
	if intPart == "" {
		for frac != "" && frac[0] == '0' {
			frac, point = frac[1:], point-1
		}
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		intPart = strings.TrimRight(intPart, "0")
	}
	n := len(intPart) + len(frac)
	if n == 0 {
		if s == "0" {
			return s, "", true
		}
		return "0", "", true
	}
	digit := func(k int) byte {
		if k < len(intPart) {
			return intPart[k]
		}
		if k-len(intPart) < len(frac) {
			return frac[k-len(intPart)]
		}
		return '0'
	}
	buf := make([]byte, 0, 64)
	if neg {
		buf = append(buf, '-')
	}
	if point <= 0 {
		buf = append(buf, '0', '.')
		for range -point {
			buf = append(buf, '0')
		}
		for k := range n {
			buf = append(buf, digit(k))
		}
	} else {
		for k := range max(point, n) {
			if k == point {
				buf = append(buf, '.')
			}
			buf = append(buf, digit(k))
		}
	}
	if string(buf) == s {
		return s, "", true
	}
	return string(buf), "", true
}

// maxDecimalExp bounds a decimal's exponent, so that "1e999999999" is
// rejected rather than written out.
const maxDecimalExp = 1000

func (c *Converter) convertBool(s string) (string, bool) {
	for _, t := range c.trues {
		if strings.EqualFold(s, t) {
			return "true", true
		}
	}
	for _, f := range c.falses {
		if strings.EqualFold(s, f) {
			return "false", true
		}
	}
	return "", false
}

// convertGUID accepts 32 hex digits, with or without the hyphens of the
// 8-4-4-4-12 form, in braces or parentheses, or after "urn:uuid:".
func convertGUID(s string) (string, string, bool) {
	if len(s) > 9 && strings.EqualFold(s[:9], "urn:uuid:") {
		s = s[9:]
	}
	if n := len(s); n >= 2 && (s[0] == '{' && s[n-1] == '}' || s[0] == '(' && s[n-1] == ')') {
		s = s[1 : n-1]
	}
	var buf [36]byte
	changed := false // the canonical form differs from s
	switch len(s) {
	case 36:
		for i := 0; i < 36; i++ {
			c := s[i]
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if c != '-' {
					return "", "misplaced hyphen", false
				}
				buf[i] = '-'
				continue
			}
			l := lowerHex[c]
			if l == 0 {
				return "", fmt.Sprintf("invalid character %q", rune(c)), false
			}
			buf[i] = l
			changed = changed || l != c
		}
	case 32:
		changed = true
		for i, j := 0, 0; i < 32; i++ {
			if j == 8 || j == 13 || j == 18 || j == 23 {
				buf[j] = '-'
				j++
			}
			l := lowerHex[s[i]]
			if l == 0 {
				return "", fmt.Sprintf("invalid character %q", rune(s[i])), false
			}
			buf[j] = l
			j++
		}
	default:
		return "", "want 32 hex digits", false
	}
	if !changed {
		return s, "", true
	}
	return string(buf[:]), "", true
}

// lowerHex maps a hex digit to its lower-case form, and anything else to 0.
var lowerHex = func() (t [256]byte) {
	for _, c := range "0123456789abcdef" {
		t[c] = byte(c)
	}
	for _, c := range "ABCDEF" {
		t[c] = byte(c) + 'a' - 'A'
	}
	return t
}()

// convertBinary decodes base64 (standard or URL-safe, padded or not) or hex,
// and writes standard padded base64.
func convertBinary(s string, isHex bool) (string, string, bool) {
	var (
		b   []byte
		err error
	)
	if isHex {
		if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			s = s[2:]
		}
		if b, err = hex.DecodeString(s); err != nil {
			return "", "", false
		}
		return base64.StdEncoding.EncodeToString(b), "", true
	}
	url := strings.ContainsAny(s, "-_")
	if url && strings.ContainsAny(s, "+/") {
		return "", "mixes the standard and URL-safe alphabets", false
	}
	enc := base64.StdEncoding
	if url {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") {
		enc = enc.WithPadding(base64.NoPadding)
	}
	if b, err = enc.Strict().DecodeString(s); err != nil {
		return "", "", false
	}
	out := base64.StdEncoding.EncodeToString(b)
	if out == s {
		return s, "", true
	}
	return out, "", true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
