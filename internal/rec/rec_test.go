package rec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 300)
	r := AppendString(nil, "key")
	r = AppendString(r, "")
	r = AppendUint(r, 12345)
	r = AppendString(r, long)
	f := Split(r)
	if got := f.NextString(); got != "key" {
		t.Fatalf("key %q", got)
	}
	if got := f.NextString(); got != "" {
		t.Fatalf("empty %q", got)
	}
	if got := f.NextUint(); got != 12345 {
		t.Fatalf("uint %d", got)
	}
	if got := f.NextString(); got != long {
		t.Fatalf("long value of %d bytes", len(got))
	}
	if f.More() || f.Err() != nil {
		t.Fatalf("more %v err %v", f.More(), f.Err())
	}
}

func TestKeyLongAndShort(t *testing.T) {
	for _, k := range []string{"", "a", strings.Repeat("k", 127), strings.Repeat("k", 128), strings.Repeat("k", 5000)} {
		r := AppendString(AppendString(nil, k), "v")
		if got := string(Key(r)); got != k {
			t.Fatalf("Key of a %d-byte key: %d bytes", len(k), len(got))
		}
	}
	a := AppendString(nil, strings.Repeat("a", 200))
	b := AppendString(nil, "b")
	if CompareKeys(a, b) >= 0 || CompareKeys(b, a) <= 0 || CompareKeys(a, a) != 0 {
		t.Fatal("keys compare bytewise, whatever their lengths")
	}
}

func TestCorrupt(t *testing.T) {
	f := Split([]byte{5, 'a'})
	f.Next()
	if !errors.Is(f.Err(), ErrCorrupt) {
		t.Fatalf("want ErrCorrupt, got %v", f.Err())
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Write([]byte("hello"))
	w.Flush()
	r := NewReader(bytes.NewReader(buf.Bytes()[:3]))
	if r.Next() || !errors.Is(r.Err(), ErrCorrupt) {
		t.Fatalf("a truncated file: want ErrCorrupt, got %v", r.Err())
	}
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte{3, 'a', 'b', 'c', 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs := Split(b)
		for fs.More() {
			fs.Next()
		}
		Key(b)
		r := NewReader(bytes.NewReader(b))
		for r.Next() {
		}
	})
}

func TestAppendPair(t *testing.T) {
	r := AppendPair(nil, "G1", "U1")
	if got, want := string(Key(r)), "G1\x00U1"; got != want {
		t.Fatalf("pair %q, want %q", got, want)
	}
	if !bytes.Equal(r, AppendString(nil, "G1\x00U1")) {
		t.Fatal("AppendPair must encode as AppendString of the joined string")
	}
}
