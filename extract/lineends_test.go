package extract

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// A file whose lines end with a lone carriage return (classic Mac OS) is
// read line by line, with the lines a text editor shows, instead of as one
// line whose header lacks the columns.
func TestCSVLoneCRLineEnds(t *testing.T) {
	const data = "ID,OrgCode,Note\r1,O1,\"two\rlines\"\r\r2,O2,x\r3,O3\r4,O4,last\r"
	for _, oneByte := range []bool{false, true} {
		var in io.Reader = strings.NewReader(data)
		if oneByte {
			in = iotest.OneByteReader(in)
		}
		r, err := NewCSVReader(in, "users.csv", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Columns("OrgCode"); err != nil {
			t.Fatalf("one byte reads %v: %v", oneByte, err)
		}
		var recs [][]string
		var lines []int
		var errs []string
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			recs = append(recs, append([]string(nil), rec...))
			lines = append(lines, r.Line())
		}
		want := [][]string{{"1", "O1", "two\nlines"}, {"2", "O2", "x"}, {"4", "O4", "last"}}
		if !reflect.DeepEqual(recs, want) || !reflect.DeepEqual(lines, []int{2, 5, 7}) {
			t.Errorf("one byte reads %v: read %q on lines %v; want %q on lines 2, 5, 7", oneByte, recs, lines, want)
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "users.csv:6: ") {
			t.Errorf("one byte reads %v: errors %q, want one on line 6", oneByte, errs)
		}
	}

	// Read again at its offset, from the file.
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if again, err := r.ReadAt(r.Offset()); err != nil || !reflect.DeepEqual(again, []string{"1", "O1", "two\nlines"}) {
		t.Errorf("ReadAt(%d) = %q, %v", r.Offset(), again, err)
	}

	// Other files keep their lone carriage returns: in a field of a file
	// with "\n" or "\r\n" line ends, and in a quoted header field.
	for _, data := range []string{"a,b\n1,x\ry\n", "a,b\r\n1,x\ry\r\n", "\"a\rz\",b\n1,x\ry\n"} {
		r := newCSV(t, data, nil)
		recs, _ := readAll(t, r)
		if len(recs) != 1 || recs[0][1] != "x\ry" {
			t.Errorf("%q: read %q, want the carriage return kept", data, recs)
		}
	}
}

// The conversion is the same whatever pieces the input arrives in, and
// keeps the length of the input.
func TestCRReaderPieces(t *testing.T) {
	// An error before the first line end fails the header: none here.
	for _, data := range []string{"a\rb\r\nc\r", "\r\r\n\r", "a,b\r1,2\r\n", "\ufeff\"a\r\"\"b\",c\rd", "x\ry"} {
		want := []byte(data)
		loneFirst := false
		if i := bytes.IndexAny(want, "\r\n"); i >= 0 && want[i] == '\r' && (i+1 == len(want) || want[i+1] != '\n') {
			loneFirst = true
		}
		if strings.HasPrefix(data, "\ufeff\"") {
			loneFirst = true // the quoted \r is not a line end; the one after c is
		}
		if loneFirst {
			want = bytes.ReplaceAll(want, []byte("\r\n"), []byte{0})
			want = bytes.ReplaceAll(want, []byte("\r"), []byte("\n"))
			want = bytes.ReplaceAll(want, []byte{0}, []byte("\r\n"))
		}
		for _, mk := range []func() io.Reader{
			func() io.Reader { return strings.NewReader(data) },
			func() io.Reader { return iotest.OneByteReader(strings.NewReader(data)) },
			func() io.Reader { return iotest.DataErrReader(strings.NewReader(data)) },
			func() io.Reader { // an error after the first line end, once
				k := strings.LastIndex(data, "\r") + 2
				if k >= len(data) {
					return strings.NewReader(data)
				}
				return &chunkReader{chunks: []string{data[:k], data[k:]}, errs: []error{errFlaky, nil}}
			},
		} {
			cr, convert := detectCR(mk(), ',')
			if convert != loneFirst {
				t.Errorf("%q: convert %v, want %v", data, convert, loneFirst)
			}
			var got []byte
			buf := make([]byte, 1)
			for range 1000 {
				n, err := cr.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil && !errors.Is(err, errFlaky) {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%q read as %q, want %q", data, got, want)
			}
		}
	}
}
