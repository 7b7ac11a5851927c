package sqlstore

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Resource properties are stored as one flat JSON object of strings per
// resource: {"name":"Ann","hireDate":"2024-01-02"}. Null (empty) values are
// not stored. The encoder and the decoder below handle exactly that shape,
// without reflection and with few allocations: a full scan decodes one
// object per resource.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. It refuses invalid UTF-8
// rather than replacing it, so that a stored value always reads back as
// it was written.
func appendJSONString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b, fmt.Errorf("sqlstore: value %q is not valid UTF-8", s)
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// propsEncoder builds JSON objects of properties.
type propsEncoder struct {
	buf []byte
	n   int
	err error
}

func (e *propsEncoder) reset() {
	e.buf = append(e.buf[:0], '{')
	e.n = 0
	e.err = nil
}

// add adds a property with a string value.
func (e *propsEncoder) add(name, value string) {
	if e.err != nil {
		return
	}
	if e.n > 0 {
		e.buf = append(e.buf, ',')
	}
	e.n++
	e.buf, e.err = appendJSONString(e.buf, name)
	e.buf = append(e.buf, ':')
	if e.err == nil {
		e.buf, e.err = appendJSONString(e.buf, value)
	}
}

// addNull adds a property with the value null: in a patch, it removes the
// property.
func (e *propsEncoder) addNull(name string) {
	if e.err != nil {
		return
	}
	if e.n > 0 {
		e.buf = append(e.buf, ',')
	}
	e.n++
	e.buf, e.err = appendJSONString(e.buf, name)
	e.buf = append(e.buf, ":null"...)
}

// finish returns the object's text.
func (e *propsEncoder) finish() (string, error) {
	if e.err != nil {
		return "", e.err
	}
	e.buf = append(e.buf, '}')
	return string(e.buf), nil
}

var errPropsSyntax = errors.New("sqlstore: stored properties are not a JSON object of strings")

// decodeProps calls fn with each name and value of a flat JSON object of
// strings. Both arguments alias s when they hold no escape sequence, so
// substrings are returned without copying. Whitespace is allowed, as
// PostgreSQL's jsonb writes it.
func decodeProps(s string, fn func(name, value string)) error {
	d := propsDecoder{s: s}
	d.ws()
	if !d.eat('{') {
		return errPropsSyntax
	}
	d.ws()
	if d.eat('}') {
		return d.end()
	}
	for {
		name, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if !d.eat(':') {
			return errPropsSyntax
		}
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == 'n' && len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "null" {
			d.i += 4 // a null value is no value
		} else {
			value, err := d.str()
			if err != nil {
				return err
			}
			fn(name, value)
		}
		d.ws()
		if d.eat('}') {
			return d.end()
		}
		if !d.eat(',') {
			return errPropsSyntax
		}
		d.ws()
	}
}

type propsDecoder struct {
	s string
	i int
}

func (d *propsDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *propsDecoder) eat(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *propsDecoder) end() error {
	d.ws()
	if d.i != len(d.s) {
		return errPropsSyntax
	}
	return nil
}

// str reads a JSON string.
func (d *propsDecoder) str() (string, error) {
	if !d.eat('"') {
		return "", errPropsSyntax
	}
	start := d.i
	for d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], nil
		case c == '\\':
			return d.unescape(start)
		case c < 0x20:
			return "", errPropsSyntax
		default:
			d.i++
		}
	}
	return "", errPropsSyntax
}

// unescape reads the rest of a string that holds escape sequences.
func (d *propsDecoder) unescape(start int) (string, error) {
	b := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c < 0x20:
			return "", errPropsSyntax
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.s) {
			return "", errPropsSyntax
		}
		e := d.s[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", errPropsSyntax
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
					d.i += 2
					if r2, ok = d.hex4(); !ok {
						return "", errPropsSyntax
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", errPropsSyntax
		}
	}
	return "", errPropsSyntax
}

func (d *propsDecoder) hex4() (rune, bool) {
	if len(d.s)-d.i < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(v), true
}
