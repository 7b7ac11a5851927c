package entitytype

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file reads Date and DateTime values: patterns written the .NET or
// Java way (yyyy-MM-dd, dd/MM/yyyy HH:mm), compiled once to a list of items
// that a hand-written scanner follows, and encodings (ldap, filetime, unix,
// unixms, excel, rfc3339). The formats are documented on NewConverter.

// dateEncoding is how a date format reads values.
type dateEncoding uint8

const (
	encISO dateEncoding = iota
	encPattern
	encRFC3339
	encLDAP
	encFileTime
	encUnix
	encUnixMs
	encExcel
)

var dateEncodings = map[string]struct {
	enc  dateEncoding
	desc string
}{
	"rfc3339":  {encRFC3339, "RFC 3339 (yyyy-MM-ddTHH:mm:ss[.f] with Z or ±hh:mm)"},
	"ldap":     {encLDAP, "LDAP generalized time (yyyyMMddHHmmss[.f] with Z or ±hhmm)"},
	"filetime": {encFileTime, "Windows FILETIME (100 ns ticks since 1601-01-01 UTC)"},
	"unix":     {encUnix, "Unix time (seconds since 1970-01-01 UTC)"},
	"unixms":   {encUnixMs, "Unix time in milliseconds (since 1970-01-01 UTC)"},
	"excel":    {encExcel, "Excel serial date (days since 1899-12-30, 1900 date system)"},
}

// dateFormat is a compiled Date or DateTime format.
type dateFormat struct {
	enc   dateEncoding
	desc  string    // the format as a person reads it
	items []patItem // encPattern
	// isoFallback accepts ISO 8601 text when the format rejects a value.
	isoFallback bool
	loc         *time.Location // zone of values without an offset; nil is UTC
}

// dtValue is a parsed date and time.
type dtValue struct {
	year, month, day     int
	hour, min, sec, nsec int
	offset               int // seconds east of UTC, when hasOffset
	hasOffset            bool
	isUnix               bool  // unix (with nsec) holds the instant
	unix                 int64 // seconds since 1970-01-01 UTC, when isUnix
	instantDate          bool  // for a Date: the date of the instant in the zone
	null                 bool  // "never"
}

func newDateFormat(kind Kind, format string) (*dateFormat, error) {
	if format == "" || strings.EqualFold(format, "iso") || strings.EqualFold(format, "iso8601") {
		f := &dateFormat{enc: encISO, desc: "yyyy-MM-dd"}
		if kind == DateTime {
			f.desc = "ISO 8601 (yyyy-MM-ddTHH:mm:ss[.f] with an optional Z or ±hh:mm)"
		}
		return f, nil
	}
	if e, ok := dateEncodings[strings.ToLower(format)]; ok {
		return &dateFormat{enc: e.enc, desc: e.desc, isoFallback: e.enc != encRFC3339}, nil
	}
	items, err := compilePattern(format)
	if err != nil {
		return nil, err
	}
	return &dateFormat{
		enc:         encPattern,
		desc:        format,
		items:       items,
		isoFallback: !strings.HasPrefix(format, "yyyy-") || strings.HasPrefix(format, "yyyy-MM-dd"),
	}, nil
}

// convert returns the canonical Date or DateTime form of s, which is
// trimmed and not empty, or the reason why it is not valid.
func (f *dateFormat) convert(s string, kind Kind) (string, string, bool) {
	var v dtValue
	reason := f.parse(s, &v)
	if reason != "" && f.isoFallback && looksISO(s) {
		var w dtValue
		if parseISO(s, &w, true) == "" {
			v, reason = w, ""
		}
	}
	if reason != "" {
		return "", reason, false
	}
	if v.null {
		return "", "", true
	}
	const outOfRange = "out of range (years 0000 to 9999)"
	var buf [40]byte
	y, m, d, tod := v.year, v.month, v.day, v.hour*3600+v.min*60+v.sec
	if kind == Date {
		if v.isUnix || v.instantDate {
			var ok bool
			if y, m, d, ok = dateIn(v.unixSeconds(f.loc), f.loc); !ok {
				return "", outOfRange, false
			}
		}
		b := appendDate(buf[:0], y, m, d)
		if string(b) == s {
			return s, "", true
		}
		return string(b), "", true
	}
	if v.isUnix || v.offset != 0 || !v.hasOffset && f.loc != nil {
		sec := v.unixSeconds(f.loc)
		days := floorDiv(sec, 86400)
		if days < minDays || days > maxDays {
			return "", outOfRange, false
		}
		y, m, d = civilFromDays(days)
		tod = int(sec - days*86400)
	}
	b := appendDate(buf[:0], y, m, d)
	b = append(b, 'T')
	b = append2(b, tod/3600)
	b = append(b, ':')
	b = append2(b, tod/60%60)
	b = append(b, ':')
	b = append2(b, tod%60)
	if v.nsec != 0 {
		b = append(b, '.')
		n := len(b)
		for p := 100000000; p > 0; p /= 10 {
			b = append(b, byte('0'+v.nsec/p%10))
		}
		for b[len(b)-1] == '0' && len(b) > n {
			b = b[:len(b)-1]
		}
	}
	b = append(b, 'Z')
	if string(b) == s {
		return s, "", true
	}
	return string(b), "", true
}

func (f *dateFormat) parse(s string, v *dtValue) string {
	switch f.enc {
	case encPattern:
		return f.parsePattern(s, v)
	case encRFC3339:
		reason := parseISO(s, v, false)
		v.instantDate = v.hasOffset
		return reason
	case encLDAP:
		return parseLDAP(s, v)
	case encFileTime:
		return parseFileTime(s, v)
	case encUnix:
		return parseUnix(s, v, false)
	case encUnixMs:
		return parseUnix(s, v, true)
	case encExcel:
		return parseExcel(s, v)
	}
	return parseISO(s, v, false)
}

// unixSeconds returns the instant of v in seconds since 1970-01-01 UTC,
// reading a value without an offset in loc (UTC when nil).
func (v *dtValue) unixSeconds(loc *time.Location) int64 {
	if v.isUnix {
		return v.unix
	}
	wall := daysFromCivil(v.year, v.month, v.day)*86400 + int64(v.hour*3600+v.min*60+v.sec)
	if loc == nil || v.hasOffset {
		return wall - int64(v.offset)
	}
	return localUnix(wall, loc)
}

// localUnix returns the instant at which the clocks of loc show wall
// (seconds since 1970-01-01 as if loc were UTC). In a gap, it is the
// instant of wall read with the offset in force before the gap, so the time
// moves forward by the gap's length; in an overlap it is the first
// occurrence. This is java.time's rule; time.Date has none (it depends on
// the zone).
func localUnix(wall int64, loc *time.Location) int64 {
	// The offsets a day before and after; a zone changes its offset at
	// most once in two days.
	before, after := offsetAt(wall-86400, loc), offsetAt(wall+86400, loc)
	if before == after {
		return wall - before
	}
	u := wall - before
	if offsetAt(u, loc) == before {
		return u // valid with the earlier offset: the first occurrence
	}
	if u := wall - after; offsetAt(u, loc) == after {
		return u
	}
	return u // in the gap
}

// offsetAt returns the offset of loc at the instant sec.
func offsetAt(sec int64, loc *time.Location) int64 {
	_, off := time.Unix(sec, 0).In(loc).Zone()
	return int64(off)
}

// check validates the fields of a calendar date and time of day.
func (v *dtValue) check() string {
	switch {
	case v.month < 1 || v.month > 12:
		return "month out of range"
	case v.day < 1 || v.day > daysIn(v.year, v.month):
		return "day out of range"
	case v.hour > 23:
		return "hour out of range"
	case v.min > 59:
		return "minute out of range"
	case v.sec > 59:
		return "second out of range"
	}
	return ""
}

// looksISO reports whether s starts like ISO 8601: a 4-digit year and '-'.
func looksISO(s string) bool {
	return len(s) >= 10 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) && s[4] == '-'
}

// parseISO reads yyyy-MM-dd, optionally followed by 'T' (or 't' or a space),
// HH:mm[:ss[.f]] and an offset (Z or ±hh:mm, ±hhmm, ±hh). When canonical,
// it reads only the ISO forms that canonical values have: a date, or a
// date, 'T' and a time with seconds.
func parseISO(s string, v *dtValue, canonical bool) string {
	const want = "want yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss"
	var ok bool
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return want
	}
	if v.year, ok = fixedNumber(s[0:4]); !ok {
		return want
	}
	if v.month, ok = fixedNumber(s[5:7]); !ok {
		return want
	}
	if v.day, ok = fixedNumber(s[8:10]); !ok {
		return want
	}
	i := 10
	if i < len(s) {
		if c := s[i]; c != 'T' && c != 't' && (c != ' ' || canonical) || len(s) < i+6 || s[i+3] != ':' {
			return want
		}
		if v.hour, ok = fixedNumber(s[i+1 : i+3]); !ok {
			return want
		}
		if v.min, ok = fixedNumber(s[i+4 : i+6]); !ok {
			return want
		}
		i += 6
		if canonical && (i == len(s) || s[i] != ':') {
			return want
		}
		if i < len(s) && s[i] == ':' {
			if len(s) < i+3 {
				return want
			}
			if v.sec, ok = fixedNumber(s[i+1 : i+3]); !ok {
				return want
			}
			i += 3
			if i < len(s) && (s[i] == '.' || s[i] == ',') {
				n, w := leadingNumber(s[i+1:], 10)
				if w == 0 || w > 9 {
					return "want 1 to 9 fractional digits"
				}
				v.nsec = n * pow10[9-w]
				i += 1 + w
			}
		}
		if i < len(s) {
			off, w, ok := parseOffset(s[i:])
			if !ok {
				return "want Z or an offset ±hh:mm after the time"
			}
			v.offset, v.hasOffset = off, true
			i += w
		}
	}
	if i != len(s) {
		return want
	}
	return v.check()
}

// parseLDAP reads generalized time: yyyyMMddHH[mm[ss[.f]]] and an optional
// Z or ±hhmm.
func parseLDAP(s string, v *dtValue) string {
	const want = "want yyyyMMddHH[mm[ss[.f]]] and Z or ±hhmm"
	var ok bool
	if len(s) < 10 {
		return want
	}
	fields := [...]*int{&v.year, &v.month, &v.day, &v.hour, &v.min, &v.sec}
	i := 0
	for k, p := range fields {
		w := 2
		if k == 0 {
			w = 4
		}
		if k > 3 && (len(s) < i+w || !isDigit(s[i])) {
			break
		}
		if *p, ok = fixedNumber(s[i : i+w]); !ok {
			return want
		}
		i += w
		if k == 5 && i < len(s) && (s[i] == '.' || s[i] == ',') {
			n, w := leadingNumber(s[i+1:], 10)
			if w == 0 || w > 9 {
				return "want 1 to 9 fractional digits"
			}
			v.nsec = n * pow10[9-w]
			i += 1 + w
		}
	}
	if i < len(s) {
		off, w, ok := parseOffset(s[i:])
		if !ok || i+w != len(s) {
			return want
		}
		v.offset, v.hasOffset, v.instantDate = off, true, true
	}
	return v.check()
}

// fileTimeEpoch is 1601-01-01 in Unix seconds.
const fileTimeEpoch = -11644473600

func parseFileTime(s string, v *dtValue) string {
	if !allDigits(s) {
		return "want a decimal count of 100 ns ticks"
	}
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "out of range"
	}
	if t == 0 || t == math.MaxInt64 {
		v.null = true
		return ""
	}
	v.isUnix, v.unix, v.nsec = true, t/1e7+fileTimeEpoch, int(t%1e7)*100
	return ""
}

// parseUnix reads a signed count of seconds with an optional fraction, or
// of milliseconds.
func parseUnix(s string, v *dtValue, ms bool) string {
	num, frac := s, ""
	if k := strings.IndexByte(s, '.'); k >= 0 && !ms {
		num, frac = s[:k], s[k+1:]
	}
	if digits := strings.TrimLeft(num, "+-"); len(num)-len(digits) > 1 || !allDigits(digits) || digits == "" {
		return "not a number"
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return "out of range"
	}
	v.isUnix, v.instantDate = true, true
	if ms {
		v.unix, v.nsec = floorDiv(n, 1000), int(n-floorDiv(n, 1000)*1000)*1e6
		return ""
	}
	if len(frac) > 9 || !allDigits(frac) {
		return "want at most 9 fractional digits"
	}
	v.unix = n
	if frac != "" {
		f, _ := leadingNumber(frac, 9)
		v.nsec = f * pow10[9-len(frac)]
		if v.nsec > 0 && num[0] == '-' {
			v.unix, v.nsec = v.unix-1, 1e9-v.nsec
		}
	}
	return ""
}

// parseExcel reads a serial day number of the 1900 date system, with an
// optional fraction of a day ('.' or ','), to the millisecond.
func parseExcel(s string, v *dtValue) string {
	num, frac := s, ""
	if k := strings.IndexAny(s, ".,"); k >= 0 {
		num, frac = s[:k], s[k+1:]
	}
	if num == "" || !allDigits(num) || !allDigits(frac) {
		return "want a serial day number"
	}
	if len(num) > 7 {
		return "out of range (years 0000 to 9999)"
	}
	day, _ := strconv.Atoi(num)
	var f int64
	den := 1.0
	for i := 0; i < len(frac) && i < 15; i++ {
		f = f*10 + int64(frac[i]-'0')
		den *= 10
	}
	ms := int(math.Round(float64(f) / den * 86400000))
	if ms == 86400000 {
		day, ms = day+1, 0
	}
	switch {
	case day < 1:
		return "serial day numbers start at 1 (1900-01-01)"
	case day == 60:
		return "serial day number 60 is 1900-02-29, which does not exist"
	case day < 60:
		day++ // before Excel's phantom 1900-02-29
	}
	if excelEpoch+int64(day) > maxDays {
		return "out of range (years 0000 to 9999)"
	}
	v.year, v.month, v.day = civilFromDays(excelEpoch + int64(day))
	v.hour, v.min, v.sec, v.nsec = ms/3600000, ms/60000%60, ms/1000%60, ms%1000*1e6
	return ""
}

// excelEpoch is 1899-12-30, serial day number 0 for days after 1900-02-28.
var excelEpoch = daysFromCivil(1899, 12, 30)

// parseOffset reads Z (or z), or ±hh:mm, ±hhmm, ±hh at the start of s and
// returns the offset in seconds east of UTC and the bytes read.
func parseOffset(s string) (off, n int, ok bool) {
	if s == "" {
		return 0, 0, false
	}
	switch s[0] {
	case 'Z', 'z':
		return 0, 1, true
	case '+', '-':
	default:
		return 0, 0, false
	}
	if len(s) < 3 {
		return 0, 0, false
	}
	h, ok := fixedNumber(s[1:3])
	if !ok {
		return 0, 0, false
	}
	m, n := 0, 3
	if len(s) >= 6 && s[3] == ':' {
		m, ok = fixedNumber(s[4:6])
		n = 6
	} else if len(s) >= 5 && isDigit(s[3]) {
		m, ok = fixedNumber(s[3:5])
		n = 5
	}
	if !ok || h > 23 || m > 59 {
		return 0, 0, false
	}
	if off = (h*60 + m) * 60; s[0] == '-' {
		off = -off
	}
	return off, n, true
}

// patField is what an item of a compiled pattern reads.
type patField uint8

const (
	fLit       patField = iota // literal text
	fYear                      // yyyy
	fYear2                     // yy
	fMonth                     // MM, M
	fMonthAbbr                 // MMM
	fMonthName                 // MMMM
	fDay                       // dd, d
	fWeekAbbr                  // ddd, EEE
	fWeekName                  // dddd, EEEE
	fHour                      // HH, H
	fHour12                    // hh, h
	fMinute                    // mm, m
	fSecond                    // ss, s
	fFrac                      // f..., S..., F...
	fAMPM                      // tt, a
	fAP                        // t
	fOffset                    // zzz, XXX, Z, x
	fOffsetOpt                 // K
)

// patItem is an item of a compiled pattern.
type patItem struct {
	field    patField
	min, max int    // digits of a number
	text     string // the literal, or the pattern's letters for messages
	// optional marks a literal "." or "," that may be absent together with
	// the optional fraction (F...) that follows it.
	optional bool
}

// numeric reports whether the item reads digits.
func (it *patItem) numeric() bool { return it.max > 0 }

// group returns the field that it sets, so that a field is set once.
func (it *patItem) group() patField {
	switch it.field {
	case fYear2:
		return fYear
	case fMonthAbbr, fMonthName:
		return fMonth
	case fWeekName:
		return fWeekAbbr
	case fHour12:
		return fHour
	case fAP:
		return fAMPM
	case fOffsetOpt:
		return fOffset
	}
	return it.field
}

// compilePattern compiles a .NET or Java style date pattern.
func compilePattern(p string) ([]patItem, error) {
	var items []patItem
	literal := func(s string) {
		if n := len(items); n > 0 && items[n-1].field == fLit {
			items[n-1].text += s
		} else {
			items = append(items, patItem{field: fLit, text: s})
		}
	}
	for i := 0; i < len(p); {
		switch c := p[i]; {
		case c == '\'':
			j := i + 1
			var lit strings.Builder
			for ; ; j++ {
				if j == len(p) {
					return nil, fmt.Errorf("unterminated quote in pattern %q", p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' && j > i+1 {
						lit.WriteByte('\'')
						j++
						continue
					}
					break
				}
				lit.WriteByte(p[j])
			}
			if j == i+1 { // '' is a quote
				literal("'")
			} else {
				literal(lit.String())
			}
			i = j + 1
		case c == '\\':
			if i+1 == len(p) {
				return nil, fmt.Errorf("pattern %q ends with a backslash", p)
			}
			literal(p[i+1 : i+2])
			i += 2
		case ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') && c != 'T':
			n := 1
			for i+n < len(p) && p[i+n] == c {
				n++
			}
			it, err := patternField(p[i : i+n])
			if err != nil {
				return nil, fmt.Errorf("%w in pattern %q", err, p)
			}
			items = append(items, it)
			i += n
		default:
			literal(p[i : i+1])
			i++
		}
	}
	return items, checkPattern(p, items)
}

// patternField returns the item for a run of the same pattern letter.
func patternField(run string) (patItem, error) {
	n := len(run)
	num := func(f patField, min, max int) (patItem, error) {
		return patItem{field: f, min: min, max: max, text: run}, nil
	}
	other := func(f patField) (patItem, error) { return patItem{field: f, text: run}, nil }
	switch c := run[0]; {
	case c == 'y' && n == 4:
		return num(fYear, 4, 4)
	case c == 'y' && n == 2:
		return num(fYear2, 2, 2)
	case c == 'y':
		return patItem{}, fmt.Errorf("%q: write yyyy (4-digit year) or yy (2-digit year)", run)
	case c == 'M' && n <= 2, c == 'd' && n <= 2:
		f := fMonth
		if c == 'd' {
			f = fDay
		}
		return num(f, n, 2)
	case c == 'M' && n == 3:
		return other(fMonthAbbr)
	case c == 'M' && n == 4:
		return other(fMonthName)
	case c == 'd' && n == 3, c == 'E' && n <= 3:
		return other(fWeekAbbr)
	case c == 'd' && n == 4, c == 'E' && n == 4:
		return other(fWeekName)
	case strings.IndexByte("Hhms", c) >= 0 && n <= 2:
		return num([...]patField{'H': fHour, 'h': fHour12, 'm': fMinute, 's': fSecond}[c], n, 2)
	case (c == 'f' || c == 'S') && n <= 9:
		return num(fFrac, n, n)
	case c == 'F' && n <= 9:
		return num(fFrac, 0, n)
	case c == 't' && n == 1:
		return other(fAP)
	case c == 't' && n == 2, c == 'a' && n <= 2:
		return other(fAMPM)
	case (c == 'z' || c == 'X' || c == 'x') && n <= 3, c == 'Z' && n <= 5:
		return other(fOffset)
	case c == 'K' && n == 1:
		return other(fOffsetOpt)
	case c == 'Y':
		return patItem{}, fmt.Errorf("%q is the week-based year: write yyyy", run)
	case c == 'D':
		return patItem{}, fmt.Errorf("%q is the day of the year: write dd", run)
	}
	return patItem{}, fmt.Errorf("unknown pattern letters %q (quote literal text: 'text')", run)
}

// checkPattern checks that a pattern sets each field at most once, has a
// full date, and can be read without ambiguity; it marks the optional
// separator before an optional fraction.
func checkPattern(p string, items []patItem) error {
	var seen [fOffsetOpt + 1]bool
	for k := range items {
		it := &items[k]
		if it.field == fLit {
			continue
		}
		g := it.group()
		if seen[g] {
			return fmt.Errorf("%q repeats a field in pattern %q", it.text, p)
		}
		seen[g] = true
		if it.numeric() && it.min != it.max && k+1 < len(items) && items[k+1].numeric() {
			return fmt.Errorf("%q followed by %q is ambiguous in pattern %q: use fixed-width fields", it.text, items[k+1].text, p)
		}
		if it.field == fFrac && it.min == 0 && k > 0 && items[k-1].field == fLit {
			lit := items[k-1].text
			if last := lit[len(lit)-1]; last == '.' || last == ',' {
				if len(lit) > 1 {
					return fmt.Errorf("%q before %q: only a lone '.' or ',' may precede an optional fraction in pattern %q", lit, it.text, p)
				}
				items[k-1].optional = true
			}
		}
	}
	switch {
	case !seen[fYear]:
		return fmt.Errorf("pattern %q has no year (yyyy)", p)
	case !seen[fMonth]:
		return fmt.Errorf("pattern %q has no month (MM)", p)
	case !seen[fDay]:
		return fmt.Errorf("pattern %q has no day (dd)", p)
	case seen[fAMPM] != hasField(items, fHour12):
		return fmt.Errorf("pattern %q: hh (12-hour) and tt (AM/PM) go together; write HH for 24-hour time", p)
	}
	return nil
}

func hasField(items []patItem, f patField) bool {
	for _, it := range items {
		if it.field == f {
			return true
		}
	}
	return false
}

// parsePattern reads s with the compiled pattern.
func (f *dateFormat) parsePattern(s string, v *dtValue) string {
	i := 0
	hour12, pm, weekday := -1, 0, -1
	for k := 0; k < len(f.items); k++ {
		it := &f.items[k]
		rest := s[i:]
		switch it.field {
		case fLit:
			if len(it.text) == 1 && rest != "" && rest[0] == it.text[0] || strings.HasPrefix(rest, it.text) {
				i += len(it.text)
			} else if it.optional && (rest == "" || !isDigit(rest[0])) {
				k++ // no fraction either
			} else {
				return "want " + strconv.Quote(it.text) + positionOf(s, i)
			}
		case fMonthAbbr, fMonthName:
			m, w := matchName(rest, monthNames[:], it.field == fMonthAbbr)
			if w == 0 {
				return "want a month name" + positionOf(s, i)
			}
			v.month, i = m+1, i+w
		case fWeekAbbr, fWeekName:
			d, w := matchName(rest, weekdayNames[:], it.field == fWeekAbbr)
			if w == 0 {
				return "want a weekday name" + positionOf(s, i)
			}
			weekday, i = d, i+w
		case fAMPM, fAP:
			w := 2
			if it.field == fAP {
				w = 1
			}
			if len(rest) < w || w == 2 && rest[1] != 'M' && rest[1] != 'm' {
				return "want AM or PM" + positionOf(s, i)
			}
			switch rest[0] {
			case 'A', 'a':
			case 'P', 'p':
				pm = 12
			default:
				return "want AM or PM" + positionOf(s, i)
			}
			i += w
		case fOffset, fOffsetOpt:
			off, w, ok := parseOffset(rest)
			if ok {
				v.offset, v.hasOffset, i = off, true, i+w
			} else if it.field == fOffset {
				return "want Z or an offset ±hh:mm" + positionOf(s, i)
			}
		default:
			n, w := leadingNumber(rest, it.max)
			if w < it.min {
				return "want " + it.text + positionOf(s, i)
			}
			i += w
			switch it.field {
			case fYear:
				v.year = n
			case fYear2:
				v.year = 2000 + n
				if n >= 50 {
					v.year = 1900 + n
				}
			case fMonth:
				v.month = n
			case fDay:
				v.day = n
			case fHour:
				v.hour = n
			case fHour12:
				hour12 = n
			case fMinute:
				v.min = n
			case fSecond:
				v.sec = n
			case fFrac:
				v.nsec = n * pow10[9-w]
			}
		}
	}
	if i != len(s) {
		return "unexpected text" + positionOf(s, i)
	}
	if hour12 >= 0 {
		if hour12 < 1 || hour12 > 12 {
			return "hour out of range"
		}
		v.hour = hour12%12 + pm
	}
	if reason := v.check(); reason != "" {
		return reason
	}
	if weekday >= 0 && weekday != int(floorMod(daysFromCivil(v.year, v.month, v.day)+4, 7)) {
		return "weekday does not match the date"
	}
	return ""
}

func positionOf(s string, i int) string {
	if i >= len(s) {
		return " at the end"
	}
	return " at position " + strconv.Itoa(i+1)
}

var (
	monthNames   = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	weekdayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// matchName returns the index of the (abbreviated, 3-letter) English name
// at the start of s, in any letter case, and its length; 0 if none.
func matchName(s string, names []string, abbr bool) (int, int) {
	for i, n := range names {
		if abbr {
			n = n[:3]
		}
		if len(s) >= len(n) && strings.EqualFold(s[:len(n)], n) {
			return i, len(n)
		}
	}
	return -1, 0
}

var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// leadingNumber returns the value of the decimal digits (at most max) at
// the start of s and how many there are.
func leadingNumber(s string, max int) (n, w int) {
	for w < max && w < len(s) && isDigit(s[w]) {
		n = n*10 + int(s[w]-'0')
		w++
	}
	return n, w
}

// fixedNumber returns the value of s if it is made of digits only.
func fixedNumber(s string) (int, bool) {
	n, w := leadingNumber(s, len(s))
	return n, w == len(s)
}

func allDigits(s string) bool {
	_, w := leadingNumber(s, len(s))
	return w == len(s)
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// appendDate appends yyyy-MM-dd.
func appendDate(b []byte, y, m, d int) []byte {
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, d)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days since 1970-01-01 of a date of
// the proleptic Gregorian calendar, for years 0 to 9999 (Howard Hinnant's
// algorithm, shifted by one 400-year era to work on unsigned numbers).
func daysFromCivil(year, month, day int) int64 {
	y := uint32(year + 400)
	if month <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*uint32((month+9)%12)+2)/5 + uint32(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468 - 146097
}

// The days since 1970-01-01 of 0000-01-01 and 9999-12-31: the range of
// canonical dates.
const minDays, maxDays = -719528, 2932896

// civilFromDays is the inverse of daysFromCivil, for minDays <= days <= maxDays.
func civilFromDays(days int64) (year, month, day int) {
	z := uint32(days + 719468 + 146097)
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp) + 3
	if month > 12 {
		month -= 12
	}
	year = int(yoe+era*400) - 400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// dateIn returns the date of the instant sec in loc (UTC when nil); ok is
// false when its year is not in 0 to 9999.
func dateIn(sec int64, loc *time.Location) (year, month, day int, ok bool) {
	if sec < (minDays-1)*86400 || sec > (maxDays+2)*86400 {
		return 0, 0, 0, false // far out, where the time package may overflow
	}
	if loc != nil {
		y, m, d := time.Unix(sec, 0).In(loc).Date()
		return y, int(m), d, 0 <= y && y <= 9999
	}
	days := floorDiv(sec, 86400)
	if days < minDays || days > maxDays {
		return 0, 0, 0, false
	}
	year, month, day = civilFromDays(days)
	return year, month, day, true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
