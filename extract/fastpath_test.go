package extract

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// These tests compare the fast path of the CSV reader with encoding/csv
// alone on inputs that arrive in pieces, with errors.

// chunkReader returns its chunks one a Read, each with its error.
type chunkReader struct {
	chunks []string
	errs   []error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] != "" {
		return n, nil
	}
	err := c.errs[0]
	c.chunks, c.errs = c.chunks[1:], c.errs[1:]
	return n, err
}

var errFlaky = errors.New("flaky read")

// A read error that the reader returns once is reported, not lost with the
// cut line before it.
func TestCSVFastPathReadErrorKept(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		errs   []error
	}{
		{[]string{"a,b\n1,2\n", ""}, []error{nil, errFlaky}},
		{[]string{"a,b\n1,2\n"}, []error{errFlaky}},
		{[]string{"a,b\n1,2\n3,"}, []error{errFlaky}},
	} {
		mk := func() io.Reader { return &chunkReader{chunks: append([]string(nil), tc.chunks...), errs: tc.errs} }
		slow := traceFrom(mk, nil, csvOnly, nil)
		if !strings.Contains(slow, "flaky read") {
			t.Fatalf("%q: encoding/csv read\n%s", tc.chunks, slow)
		}
		for _, m := range []readMode{fastStrings, fastBytes} {
			if fast := traceFrom(mk, nil, m, nil); fast != slow {
				t.Errorf("%q: fast path (mode %d) read\n%s\nencoding/csv read\n%s", tc.chunks, m, fast, slow)
			}
		}
	}
}

// A complete line is returned without waiting for more of a stream.
func TestCSVFastPathStreamDoesNotWait(t *testing.T) {
	for _, mode := range []readMode{csvOnly, fastStrings} {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("a,b\n1,"))
			pw.Write([]byte("2\n")) // then the stream pauses
		}()
		r, err := NewCSVReader(pr, "stream.csv", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.src.(*csvSource).noFast = mode == csvOnly
		done := make(chan error, 1)
		go func() { _, err := r.Read(); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("mode %d: %v", mode, err)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("mode %d: Read of a complete line waits for more input", mode)
		}
		pw.CloseWithError(errors.New("end"))
	}
}

// Blank lines longer than MaxRecordBytes, read in short pieces, do not
// turn the next bad record into a record too long.
func TestCSVFastPathReadAheadLimit(t *testing.T) {
	data := []byte("a,b\n" + strings.Repeat("\n", 65600) + "1,2,3\n" + strings.Repeat("4,5\n", 1000))
	opts := &Options{MaxRecordBytes: 1000}
	slow := traceCSV(data, opts, csvOnly, true)
	for _, m := range []readMode{fastStrings, fastBytes} {
		if fast := traceCSV(data, opts, m, true); fast != slow {
			t.Errorf("fast path (mode %d) read\n%.300s\nencoding/csv read\n%.300s", m, fast, slow)
		}
	}
}

// A record is not returned with its error.
func TestCSVErrorReturnsNoRecord(t *testing.T) {
	for _, noFast := range []bool{true, false} {
		r, err := NewCSVReader(strings.NewReader("a,b\n1,\xff\n1,\xff\n"), "x", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.src.(*csvSource).noFast = noFast
		if rec, err := r.Read(); err == nil || rec != nil {
			t.Errorf("noFast %v: Read %q, %v", noFast, rec, err)
		}
		if v, err := r.ReadBytes(); err == nil || v != nil {
			t.Errorf("noFast %v: ReadBytes %q, %v", noFast, v, err)
		}
	}
}

// streamReader returns data in pieces of random sizes; when errAt bytes
// are delivered, it returns err once, or for ever when persistent, with
// the last bytes before it or alone.
type streamReader struct {
	data       []byte
	pos        int
	rng        *rand.Rand
	maxChunk   int
	errAt      int
	err        error
	persistent bool
	fired      bool
}

func (s *streamReader) Read(p []byte) (int, error) {
	if s.fired && s.persistent {
		return 0, s.err
	}
	if s.err != nil && !s.fired && s.pos == s.errAt {
		s.fired = true
		return 0, s.err
	}
	if s.pos == len(s.data) {
		return 0, io.EOF
	}
	n := min(1+s.rng.IntN(s.maxChunk), len(p), len(s.data)-s.pos)
	var err error
	if s.err != nil && !s.fired && s.pos < s.errAt && s.pos+n >= s.errAt {
		n = s.errAt - s.pos
		if s.rng.IntN(2) == 0 {
			s.fired, err = true, s.err
		}
	}
	copy(p, s.data[s.pos:s.pos+n])
	s.pos += n
	return n, err
}

// FuzzCSVFastPathStream is FuzzCSVFastPath on inputs that arrive in pieces,
// with read errors, longer than the buffer, and read again at each offset.
func FuzzCSVFastPathStream(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s.data), s.sep, false, uint64(1), uint8(0), int16(-1), false, uint8(0), uint16(0))
		f.Add([]byte(s.data), s.sep, true, uint64(2), uint8(3), int16(2), true, uint8(1), uint16(10))
	}
	f.Add([]byte("a,b\n1,2\r\n\r\n3,4\r5\n6,\"7\"\n8,9"), ',', false, uint64(3), uint8(5), int16(4), true, uint8(2), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, sep rune, lazy bool, seed uint64, chunk uint8, errAt int16, persistent bool, rep uint8, maxBytes uint16) {
		if len(data) == 0 && rep > 0 {
			return
		}
		if rep > 0 { // past the buffer
			big := make([]byte, 0, 70000+int(rep)*300+len(data))
			for len(big) < cap(big)-len(data) {
				big = append(big, data...)
			}
			data = big
		}
		mk := func() io.Reader {
			if chunk == 0 && errAt < 0 {
				return bytes.NewReader(data)
			}
			s := &streamReader{data: data, rng: rand.New(rand.NewPCG(seed, 1)), maxChunk: max(int(chunk), 1) * max(1, len(data)/200), errAt: int(errAt), persistent: persistent}
			if errAt >= 0 {
				s.err = errFlaky
			}
			return s
		}
		opts := &Options{Separator: sep, LazyQuotes: lazy, MaxRecordBytes: int(maxBytes)}
		slow := traceFrom(mk, opts, csvOnly, bytes.NewReader(data))
		for _, m := range []readMode{fastStrings, fastBytes} {
			if fast := traceFrom(mk, opts, m, bytes.NewReader(data)); fast != slow {
				t.Fatalf("fast path (mode %d) read\n%.3000s\nencoding/csv read\n%.3000s", m, fast, slow)
			}
		}
	})
}
