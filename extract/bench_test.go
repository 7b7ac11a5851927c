package extract

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var benchRows = flag.Int("rows", 100_000, "number of rows of the benchmark files")

var benchHeader = []string{"id", "login", "first_name", "last_name", "email",
	"hire_date", "active", "org_code", "guid", "salary"}

// writeUsers writes a CSV file of n realistic users to path.
func writeUsers(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := NewCSVWriter(f, nil)
	if err := w.Write(benchHeader); err != nil {
		tb.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	first := []string{"Anne", "Bruno", "Chloé", "David", "Émile", "Fatima", "Grégoire", "Hélène", "Ivan", "Jeanne"}
	last := []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"}
	rec := make([]string, len(benchHeader))
	for i := range n {
		fn, ln := first[rnd.IntN(len(first))], last[rnd.IntN(len(last))]
		login := strings.ToLower(fn[:1] + ln + strconv.Itoa(i))
		rec[0] = strconv.Itoa(100000 + i)
		rec[1] = login
		rec[2] = fn
		rec[3] = ln
		rec[4] = login + "@example.com"
		rec[5] = fmt.Sprintf("%02d/%02d/%d", 1+rnd.IntN(28), 1+rnd.IntN(12), 1990+rnd.IntN(35))
		rec[6] = "YN"[rnd.IntN(2):][:1]
		rec[7] = fmt.Sprintf("ORG%03d", rnd.IntN(500))
		rec[8] = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rnd.Uint32(), rnd.IntN(1<<16), rnd.IntN(1<<16), rnd.IntN(1<<16), rnd.Uint64()&(1<<48-1))
		rec[9] = strconv.FormatFloat(float64(rnd.IntN(10_000_000))/100, 'f', 2, 64)
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// benchFile returns the path and size of a users file of *benchRows rows.
func benchFile(b *testing.B) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "users.csv")
	writeUsers(b, path, *benchRows)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBareCSV reads the users file with a bare encoding/csv loop, for
// comparison with BenchmarkCSVReader.
func BenchmarkBareCSV(b *testing.B) {
	path, size := benchFile(b)
	b.SetBytes(size)
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(f)
		r.ReuseRecord = true
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows += len(rec) / len(benchHeader)
		}
		f.Close()
	}
	reportRows(b, rows)
}

// BenchmarkCSVReader reads the users file with a Reader, locating its
// columns by name, then also canonicalising the typed columns as a caller
// would.
func BenchmarkCSVReader(b *testing.B) {
	path, size := benchFile(b)
	for _, name := range []string{"read", "canonical", "bytes"} {
		canonical := name == "canonical"
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			rows := 0
			var c canonicaliser
			for b.Loop() {
				r, err := Open(path, nil)
				if err != nil {
					b.Fatal(err)
				}
				cols, err := r.Columns(benchHeader...)
				if err != nil {
					b.Fatal(err)
				}
				for {
					var rec []string
					var err error
					if name == "bytes" { // the fields, not copied
						var fields [][]byte
						fields, err = r.ReadBytes()
						if err == nil && len(fields[cols[0]]) == 0 {
							b.Fatal("no id")
						}
					} else {
						rec, err = r.Read()
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if canonical {
						if err := c.canonicalise(rec, cols); err != nil {
							b.Fatal(err)
						}
					} else if rec != nil && rec[cols[0]] == "" {
						b.Fatal("no id")
					}
					rows++
				}
				r.Close()
			}
			reportRows(b, rows)
		})
	}
}

// canonicaliser converts the typed columns of users to canonical values,
// as the preparation of a synchronization does, encoding them in a buffer
// as for sorting.
type canonicaliser struct {
	buf []byte
	n   int // total length of the encoded rows
}

func (c *canonicaliser) canonicalise(rec []string, cols []int) error {
	b := c.buf[:0]
	id := rec[cols[0]]
	if _, err := strconv.Atoi(id); err != nil {
		return err
	}
	b = append(append(b, id...), 0)
	for _, i := range []int{1, 2, 3, 7} {
		b = append(append(b, rec[cols[i]]...), 0)
	}
	b = append(appendLower(b, rec[cols[4]]), 0)
	d := rec[cols[5]] // dd/MM/yyyy to yyyy-MM-dd
	if len(d) != 10 || d[2] != '/' || d[5] != '/' {
		return fmt.Errorf("bad date %q", d)
	}
	b = append(append(append(append(append(append(b, d[6:]...), '-'), d[3:5]...), '-'), d[:2]...), 0)
	switch rec[cols[6]] {
	case "Y":
		b = append(b, "true\x00"...)
	case "N":
		b = append(b, "false\x00"...)
	default:
		return fmt.Errorf("bad flag %q", rec[cols[6]])
	}
	guid := rec[cols[8]]
	if len(guid) != 36 {
		return fmt.Errorf("bad guid %q", guid)
	}
	b = append(appendLower(b, guid), 0)
	salary, err := canonicalDecimal(rec[cols[9]])
	if err != nil {
		return err
	}
	b = append(append(b, salary...), 0)
	c.buf = b
	c.n += len(b)
	return nil
}

// appendLower appends s in lower case to b.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// canonicalDecimal returns s without trailing zeros after the decimal
// point.
func canonicalDecimal(s string) (string, error) {
	dot := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && dot < 0:
			dot = i
		case c == '-' && i == 0:
		case c < '0' || c > '9':
			return "", fmt.Errorf("bad decimal %q", s)
		}
	}
	if dot >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s, nil
}

// BenchmarkXLSXReader reads the users as a workbook.
func BenchmarkXLSXReader(b *testing.B) {
	src, _ := benchFile(b)
	r, err := Open(src, nil)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "users.xlsx")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	w, err := NewXLSXWriter(bw, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(r.Header()); err != nil {
		b.Fatal(err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		r.Close()
	}
	reportRows(b, rows)
}
