package sqlstore

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"unicode/utf8"
)

func encodeMap(t testing.TB, m map[string]string) string {
	var e propsEncoder
	e.reset()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		e.add(k, m[k])
	}
	s, err := e.finish()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPropsRoundTrip(t *testing.T) {
	for _, m := range []map[string]string{
		{},
		{"a": ""},
		{"name": "Ann", "mail": "ann@example.com"},
		{"q": `"quoted" \back\ /slash/`, "ctl": "\x00\x01\x1f\x7f\n\r\t\b\f", "u": "é日本😀\u2028"},
		{"": "empty name", "k\x1fj": "v\x1fw"},
	} {
		s := encodeMap(t, m)
		if !json.Valid([]byte(s)) {
			t.Fatalf("%q is not JSON", s)
		}
		var std map[string]string
		if err := json.Unmarshal([]byte(s), &std); err != nil || !maps.Equal(std, m) {
			t.Fatalf("encoding/json reads %q as %q, %v; want %q", s, std, err, m)
		}
		got, err := propsMap(s)
		if err != nil || !maps.Equal(got, m) {
			t.Fatalf("decode %q = %q, %v; want %q", s, got, err, m)
		}
	}
}

func TestPropsDecodeForeignJSON(t *testing.T) {
	// As PostgreSQL's jsonb and SQLite's json_patch write it.
	for in, want := range map[string]map[string]string{
		`{"a": "b", "c": "d"}`:                   {"a": "b", "c": "d"},
		" { \"a\" :\t\"b\" }\n":                  {"a": "b"},
		`{"a":"\u00e9\ud83d\ude00\/\"\\"}`:       {"a": "é😀/\"\\"},
		`{"a":null,"b":"x"}`:                     {"b": "x"},
		`{}`:                                     {},
		`{"a":"\u0041\u000a","\u0062":"\t\r\b"}`: {"a": "A\n", "b": "\t\r\b"},
	} {
		got, err := propsMap(in)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("decode %q = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a":1}`, `{"a":"b"`, `{"a":"b",}`, `{"a" "b"}`, `{"a":"\x"}`, `{"a":"b"} x`, "{\"a\":\"\n\"}", `{"a":"\u12"}`, `{"a":true}`} {
		if _, err := propsMap(bad); err == nil {
			t.Errorf("decode %q: no error", bad)
		}
	}
}

func TestPropsRefuseInvalidUTF8(t *testing.T) {
	var e propsEncoder
	e.reset()
	e.add("a", "ok")
	e.add("b", "bad \xff")
	if _, err := e.finish(); err == nil {
		t.Fatal("invalid UTF-8 encoded")
	}
}

func FuzzProps(f *testing.F) {
	f.Add("name", "Ann", "mail", "a\"b\\c\x00\x1fé")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		for _, s := range []string{k1, v1, k2, v2} {
			if !utf8.ValidString(s) {
				return
			}
		}
		m := map[string]string{k1: v1, k2: v2}
		s := encodeMap(t, m)
		got, err := propsMap(s)
		if err != nil || !maps.Equal(got, m) {
			t.Fatalf("decode %q = %q, %v; want %q", s, got, err, m)
		}
		var std map[string]string
		if err := json.Unmarshal([]byte(s), &std); err != nil || !maps.Equal(std, m) {
			t.Fatalf("encoding/json reads %q as %q, %v", s, std, err)
		}
		// Whatever the input, decoding does not panic.
		propsMap(k1 + v1)
	})
}
