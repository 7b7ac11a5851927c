package extract

import (
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads the remaining records of r and their lines.
func readAll(t *testing.T, r *Reader) (records [][]string, lines []int) {
	t.Helper()
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return records, lines
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		records = append(records, slices.Clone(rec))
		lines = append(lines, r.Line())
	}
}

func newCSV(t *testing.T, input string, opts *Options) *Reader {
	t.Helper()
	r, err := NewCSVReader(strings.NewReader(input), "test.csv", opts)
	if err != nil {
		t.Fatalf("NewCSVReader: %v", err)
	}
	return r
}

func TestColumns(t *testing.T) {
	const header = "id,login, Email ,id,,First Name\n"
	tests := []struct {
		names     []string
		want      []int
		missing   []string
		ambiguous []string
		message   string
	}{
		{names: []string{"login", "Email"}, want: []int{1, 2}},
		{names: []string{"First Name", "login", "login"}, want: []int{5, 1, 1}},
		{names: nil, want: []int{}},
		{
			names:   []string{"mail"},
			missing: []string{"mail"},
			message: `extract: test.csv: column "mail" not found (did you mean "Email"?)`,
		},
		{
			names:   []string{"email", "firstname", "Logn", "zzz", ""},
			missing: []string{"email", "firstname", "Logn", "zzz", ""},
			message: `extract: test.csv: column "email" not found (did you mean "Email"?); ` +
				`column "firstname" not found (did you mean "First Name"?); ` +
				`column "Logn" not found (did you mean "login"?); column "zzz" not found; column "" not found`,
		},
		{
			names:     []string{"id"},
			ambiguous: []string{"id"},
			message:   `extract: test.csv: column "id" appears 2 times (columns 1, 4)`,
		},
		{
			names:     []string{"id", "mail", "login", "id", "mail"},
			missing:   []string{"mail"},
			ambiguous: []string{"id"},
			message: `extract: test.csv: column "mail" not found (did you mean "Email"?); ` +
				`column "id" appears 2 times (columns 1, 4)`,
		},
	}
	for _, tt := range tests {
		r := newCSV(t, header, nil)
		cols, err := r.Columns(tt.names...)
		if tt.message == "" {
			if err != nil || !slices.Equal(cols, tt.want) {
				t.Errorf("Columns(%q) = %v, %v; want %v", tt.names, cols, err, tt.want)
			}
			continue
		}
		var he *HeaderError
		if !errors.As(err, &he) {
			t.Errorf("Columns(%q) error = %v; want a *HeaderError", tt.names, err)
			continue
		}
		if !slices.Equal(he.Missing, tt.missing) || !slices.Equal(he.Ambiguous, tt.ambiguous) {
			t.Errorf("Columns(%q): Missing %q, Ambiguous %q; want %q, %q",
				tt.names, he.Missing, he.Ambiguous, tt.missing, tt.ambiguous)
		}
		if err.Error() != tt.message {
			t.Errorf("Columns(%q) error:\n%s\nwant:\n%s", tt.names, err, tt.message)
		}
	}
}

func TestHeader(t *testing.T) {
	r := newCSV(t, "\uFEFF id ,\tname\t,,id,x,x\n", nil)
	want := []string{"id", "name", "", "id", "x", "x"}
	if got := r.Header(); !slices.Equal(got, want) {
		t.Errorf("Header() = %q; want %q", got, want)
	}
	r.Header()[0] = "changed"
	if got := r.Header(); got[0] != "id" {
		t.Errorf("Header() shares its slice")
	}
	wantWarnings := []string{
		`column "id" appears 2 times (columns 1, 4)`,
		"column 3 has no name",
		`column "x" appears 2 times (columns 5, 6)`,
	}
	if got := r.HeaderWarnings(); !slices.Equal(got, wantWarnings) {
		t.Errorf("HeaderWarnings() = %q; want %q", got, wantWarnings)
	}
	if _, err := r.Columns("name"); err != nil {
		t.Errorf("Columns(name) = %v; a problem elsewhere in the header must not matter", err)
	}
	if got := newCSV(t, "a,b\n", nil).HeaderWarnings(); got != nil {
		t.Errorf("HeaderWarnings() = %q; want none", got)
	}
}

// TestReorderedColumns checks that columns located by name read the same
// values whatever their order in the file.
func TestReorderedColumns(t *testing.T) {
	files := []string{
		"id,login,email\n1,jdoe,jdoe@example.com\n2,asmith,asmith@example.com\n",
		"email,extra,id,login\njdoe@example.com,x,1,jdoe\nasmith@example.com,y,2,asmith\n",
		" login ;id; email\r\njdoe;1;jdoe@example.com\r\nasmith;2;asmith@example.com\r\n",
	}
	var first [][]string
	for i, input := range files {
		opts := &Options{}
		if strings.Contains(input, ";") {
			opts.Separator = ';'
		}
		r := newCSV(t, input, opts)
		cols, err := r.Columns("id", "login", "email")
		if err != nil {
			t.Fatal(err)
		}
		records, _ := readAll(t, r)
		var got [][]string
		for _, rec := range records {
			got = append(got, []string{rec[cols[0]], rec[cols[1]], rec[cols[2]]})
		}
		if i == 0 {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Errorf("file %d read %q; want %q", i, got, first)
		}
	}
}

func TestCSVFormats(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		opts    *Options
		header  []string
		records [][]string
		lines   []int
	}{
		{
			name:    "plain",
			input:   "id,name\n1,Ann\n2,Bob\n",
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann"}, {"2", "Bob"}},
			lines:   []int{2, 3},
		},
		{
			name:    "BOM",
			input:   "\uFEFFid,name\n1,Ann\n",
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann"}},
			lines:   []int{2},
		},
		{
			name:    "BOM before quoted header",
			input:   "\uFEFF\"id\",name\n1,Ann",
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann"}},
			lines:   []int{2},
		},
		{
			name:    "CRLF",
			input:   "id,name\r\n1,Ann\r\n2,\"B\r\nob\"\r\n3,Cy\r\n",
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann"}, {"2", "B\nob"}, {"3", "Cy"}},
			lines:   []int{2, 3, 5},
		},
		{
			name:    "semicolon",
			input:   "id;name;note\n1;Doe, Ann;\"a;b\"\n",
			opts:    &Options{Separator: ';'},
			header:  []string{"id", "name", "note"},
			records: [][]string{{"1", "Doe, Ann", "a;b"}},
			lines:   []int{2},
		},
		{
			name:    "tab",
			input:   "id\tname\n1\tAnn Lee\n2\t\"B\tb\"\n",
			opts:    &Options{Separator: '\t'},
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann Lee"}, {"2", "B\tb"}},
			lines:   []int{2, 3},
		},
		{
			name:    "multibyte separator",
			input:   "id¦name\n1¦Ann\n",
			opts:    &Options{Separator: '¦'},
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann"}},
			lines:   []int{2},
		},
		{
			name:    "quoted newlines",
			input:   "id,note\n1,\"line 1\nline 2\nline 3\"\n2,\"say \"\"hi\"\"\"\n3,\"\"\n",
			header:  []string{"id", "note"},
			records: [][]string{{"1", "line 1\nline 2\nline 3"}, {"2", `say "hi"`}, {"3", ""}},
			lines:   []int{2, 5, 6},
		},
		{
			name:    "blank lines",
			input:   "\n\nid,name\n\n1,Ann\n\n\n2,Bob\n\n\r\n\n",
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann"}, {"2", "Bob"}},
			lines:   []int{5, 8},
		},
		{
			name:    "no final newline",
			input:   "id,name\n1,Ann",
			header:  []string{"id", "name"},
			records: [][]string{{"1", "Ann"}},
			lines:   []int{2},
		},
		{
			name:   "header only",
			input:  "id,name\n",
			header: []string{"id", "name"},
		},
		{
			name:    "empty fields",
			input:   "a,b,c\n,,\n\"\",,x\n",
			header:  []string{"a", "b", "c"},
			records: [][]string{{"", "", ""}, {"", "", "x"}},
			lines:   []int{2, 3},
		},
		{
			name:    "lazy quotes",
			input:   "id,name\n1,Ann \"the\" one\n",
			opts:    &Options{LazyQuotes: true},
			header:  []string{"id", "name"},
			records: [][]string{{"1", `Ann "the" one`}},
			lines:   []int{2},
		},
		{
			name:    "spaces kept in values",
			input:   "id,name\n 1 , Ann \n",
			header:  []string{"id", "name"},
			records: [][]string{{" 1 ", " Ann "}},
			lines:   []int{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCSV(t, tt.input, tt.opts)
			if got := r.Header(); !slices.Equal(got, tt.header) {
				t.Errorf("Header() = %q; want %q", got, tt.header)
			}
			records, lines := readAll(t, r)
			if !reflect.DeepEqual(records, tt.records) || !slices.Equal(lines, tt.lines) {
				t.Errorf("read %q on lines %v; want %q on lines %v", records, lines, tt.records, tt.lines)
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestCSVErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		opts    *Options
		err     error  // matched by errors.Is, if not nil
		message string // the error's message
		line    int    // ParseError.Line
		column  int    // ParseError.Column
	}{
		{
			name:    "more fields",
			input:   "id,name\n1,Ann\n2,Bob,x\n",
			err:     ErrFieldCount,
			message: "extract: test.csv:3: wrong number of fields: 3, header has 2",
			line:    3,
		},
		{
			name:    "fewer fields after a multi-line record",
			input:   "id,name\n1,\"A\nnn\"\n2\n",
			err:     ErrFieldCount,
			message: "extract: test.csv:4: wrong number of fields: 1, header has 2",
			line:    4,
		},
		{
			name:    "invalid UTF-8",
			input:   "id,name\n1,Ann\n2,B\xffb\n",
			err:     ErrInvalidUTF8,
			message: "extract: test.csv:3:3: invalid UTF-8 in column \"name\" (field 2)",
			line:    3,
			column:  3,
		},
		{
			name:    "invalid UTF-8 in a multi-line field",
			input:   "id,name,x\n1,Ann,y\n2,\"B\nb\",\"\n\xc3\"\n",
			err:     ErrInvalidUTF8,
			message: "extract: test.csv:4:4: in record starting on line 3: invalid UTF-8 in column \"x\" (field 3)",
			line:    4,
			column:  4,
		},
		{
			name:    "invalid UTF-8 in header",
			input:   "id,n\xe9\n",
			err:     ErrInvalidUTF8,
			message: "extract: test.csv:1:4: invalid UTF-8 in field 2",
			line:    1,
			column:  4,
		},
		{
			name:    "bare quote",
			input:   "id,name\n1,An\"n\n",
			err:     nil,
			message: "extract: test.csv:2:5: bare \" in non-quoted-field",
			line:    2,
			column:  5,
		},
		{
			name:    "unbalanced quote",
			input:   "id,name\n1,\"Ann\n2,Bob\n3,Cy\n",
			message: "extract: test.csv:4:6: in record starting on line 2: extraneous or missing \" in quoted-field",
			line:    4,
			column:  6,
		},
		{
			name:    "too long",
			input:   "id,name\n1,Ann\n2,\"" + strings.Repeat("x", 200<<10) + "\"\n3,Cy\n",
			opts:    &Options{MaxRecordBytes: 1 << 10},
			err:     ErrRecordTooLong,
			message: "extract: test.csv:3: record too long: more than 1024 bytes",
			line:    3,
		},
		{
			name:    "a little too long",
			input:   "id,name\n1,Ann\n2,\"" + strings.Repeat("x", 1<<10) + "\"\n3,Cy\n",
			opts:    &Options{MaxRecordBytes: 1 << 10},
			err:     ErrRecordTooLong,
			message: "extract: test.csv:3: record too long: more than 1024 bytes",
			line:    3,
		},
		{
			name:    "too long after a multi-line record",
			input:   "id,name\n1,\"A\r\n\r\nnn\"\r\n" + strings.Repeat("x", 200<<10) + ",y\n",
			opts:    &Options{MaxRecordBytes: 100 << 10},
			err:     ErrRecordTooLong,
			message: "extract: test.csv:5: record too long: more than 102400 bytes",
			line:    5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			r, err := NewCSVReader(strings.NewReader(tt.input), "test.csv", tt.opts)
			for err == nil {
				_, err = r.Read()
			}
			if err == io.EOF {
				t.Fatalf("no error; want %s", tt.message)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v; want one wrapping %v", err, tt.err)
			}
			if err.Error() != tt.message {
				t.Errorf("error message:\n%s\nwant:\n%s", err, tt.message)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T; want a *ParseError", err)
			}
			if pe.File != "test.csv" || pe.Line != tt.line || pe.Column != tt.column {
				t.Errorf("error at %s:%d:%d; want test.csv:%d:%d", pe.File, pe.Line, pe.Column, tt.line, tt.column)
			}
		})
	}
}

func TestCSVNoHeader(t *testing.T) {
	for _, input := range []string{"", "\n\n", "\uFEFF", "\uFEFF\r\n"} {
		_, err := NewCSVReader(strings.NewReader(input), "empty.csv", nil)
		if !errors.Is(err, ErrNoHeader) || err.Error() != "extract: empty.csv: no header" {
			t.Errorf("NewCSVReader(%q) error = %v; want %v", input, err, ErrNoHeader)
		}
	}
}

func TestCSVBadSeparator(t *testing.T) {
	for _, sep := range []rune{'"', '\n', '\r', 0xFFFD, -1} {
		if _, err := NewCSVReader(strings.NewReader("a,b\n"), "x.csv", &Options{Separator: sep}); err == nil {
			t.Errorf("NewCSVReader with separator %q: no error", sep)
		}
	}
}

// TestCSVContinue checks that Read goes on after an error in a record.
func TestCSVContinue(t *testing.T) {
	r := newCSV(t, "id,name\n1,Ann,x\n2,B\xffb\n3,\"C\"y\n4,Dan\n", nil)
	for _, want := range []error{ErrFieldCount, ErrInvalidUTF8, csv.ErrQuote} {
		_, err := r.Read()
		if !errors.Is(err, want) || !errors.Is(err, ErrBadRecord) {
			t.Fatalf("Read() error = %v; want %v, a bad record", err, want)
		}
	}
	rec, err := r.Read()
	if err != nil || !slices.Equal(rec, []string{"4", "Dan"}) || r.Line() != 5 {
		t.Fatalf("Read() = %q, %v on line %d; want [4 Dan] on line 5", rec, err, r.Line())
	}
}

// endless is an endless stream of x.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += len(p)
	return len(p), nil
}

// TestCSVUnclosedQuote checks that a missing closing quote on an endless
// input is an error after a bounded amount of input, and stays one.
func TestCSVUnclosedQuote(t *testing.T) {
	const max = 1 << 20
	in := &endless{}
	r, err := NewCSVReader(io.MultiReader(strings.NewReader("id,name\n1,\"Ann\n"), in), "big.csv",
		&Options{MaxRecordBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Read(); !errors.Is(err, ErrRecordTooLong) {
			t.Fatalf("Read() error = %v; want %v", err, ErrRecordTooLong)
		}
	}
	if in.n > 2*max {
		t.Errorf("read %d bytes; want at most %d", in.n, 2*max)
	}
}

func TestCSVLongRecord(t *testing.T) {
	long := strings.Repeat("é", 3<<20)
	r := newCSV(t, "id,name\n1,"+long+"\n2,\""+long+"\"\n", &Options{MaxRecordBytes: 7 << 20})
	records, _ := readAll(t, r)
	if len(records) != 2 || records[0][1] != long || records[1][1] != long {
		t.Errorf("long fields not read back")
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir+"/missing.csv", nil); err == nil {
		t.Error("Open of a missing file: no error")
	}
	if _, err := Open(dir+"/missing.xlsx", nil); err == nil {
		t.Error("Open of a missing workbook: no error")
	}
}

// TestCSVUTF8Chunks checks UTF-8 validation when the input comes in
// pieces that cut runes.
func TestCSVUTF8Chunks(t *testing.T) {
	tests := []struct {
		input string
		err   string
	}{
		{input: "\uFEFFid,名前\n1,Émile 🙂\n2,\"ß\n€\"\n"},
		{input: "id,name\n1,Ém\xc3\n", err: "extract: x.csv:2:3: invalid UTF-8 in column \"name\" (field 2)"},
		{input: "id,name\n1,\"Ém\n\xf0\x9f\x99\"\n", err: "extract: x.csv:2:3: invalid UTF-8 in column \"name\" (field 2)"},
		{input: "id,name\n1,ok\n2,\xf0\x9f\x99", err: "extract: x.csv:3:3: invalid UTF-8 in column \"name\" (field 2)"},
		{input: "id,name\n1,ok\n2,\xed\xa0\x80\n", err: "extract: x.csv:3:3: invalid UTF-8 in column \"name\" (field 2)"},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tt := range tests {
		for name, wrap := range readers {
			r, err := NewCSVReader(wrap(strings.NewReader(tt.input)), "x.csv", nil)
			for err == nil {
				_, err = r.Read()
			}
			if err == io.EOF {
				err = nil
			}
			if (err == nil && tt.err != "") || (err != nil && err.Error() != tt.err) {
				t.Errorf("%s: reading %q: error %v; want %q", name, tt.input, err, tt.err)
			}
		}
	}
}

func TestCSVRecordLimit(t *testing.T) {
	rec := "2," + strings.Repeat("x", 98) + "\n" // 101 bytes
	r := newCSV(t, "id,name\n"+rec, &Options{MaxRecordBytes: 101})
	if records, _ := readAll(t, r); len(records) != 1 {
		t.Errorf("read %d records; want 1", len(records))
	}
	r = newCSV(t, "id,name\n"+rec, &Options{MaxRecordBytes: 100})
	if _, err := r.Read(); !errors.Is(err, ErrRecordTooLong) {
		t.Errorf("Read() error = %v; want %v", err, ErrRecordTooLong)
	}
}

// TestCSVPermanentErrors checks that errors after which records cannot be
// told apart stop reading.
func TestCSVPermanentErrors(t *testing.T) {
	for _, input := range []string{
		"id,name\n1,\"Ann\n2,Bob\"x\n3,Cy\n",
		"id,name\n1,\"Ann\n2,Bob\n3,Cy\n",
		"id,name\n1," + strings.Repeat("x", 2000) + "\n2,Bob\n",
	} {
		r := newCSV(t, input, &Options{MaxRecordBytes: 1000})
		_, err := r.Read()
		if err == nil || errors.Is(err, ErrBadRecord) {
			t.Fatalf("reading %.30q: error %v; want a permanent error", input, err)
		}
		if _, again := r.Read(); again != err {
			t.Errorf("reading %.30q: error %v, then %v; want the same", input, err, again)
		}
	}
}

// Invalid UTF-8 is reported by the name of its column, with its line and
// column number, whichever path reads the record; a column without a name
// is reported by its number.
func TestCSVInvalidUTF8NamesColumn(t *testing.T) {
	const input = "ID,Login,FirstName,LastName,HireDate,Email,\n" +
		"1,ann,Ann,Lee,01/02/2020,ann@\xe9x.org,\n" +
		"2,bob,Bob,Ray,01/02/2020,bob@x.org,\xff\n"
	for _, noFast := range []bool{false, true} {
		for _, asBytes := range []bool{false, true} {
			r := newCSV(t, input, nil)
			r.src.(*csvSource).noFast = noFast
			var errs []*ParseError
			for {
				var err error
				if asBytes {
					_, err = r.ReadBytes()
				} else {
					_, err = r.Read()
				}
				if err == io.EOF {
					break
				}
				var pe *ParseError
				if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidUTF8) {
					t.Fatalf("Read: %v, want a ParseError of invalid UTF-8", err)
				}
				errs = append(errs, pe)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			want := []string{
				`extract: test.csv:2:26: invalid UTF-8 in column "Email" (field 6)`,
				`extract: test.csv:3:36: invalid UTF-8 in field 7`,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("noFast %v, ReadBytes %v: errors\n%q\nwant\n%q", noFast, asBytes, got, want)
			}
			if len(errs) == 2 && (errs[0].Line != 2 || errs[0].Column != 26) {
				t.Errorf("error at %d:%d, want 2:26", errs[0].Line, errs[0].Column)
			}
		}
	}
}
