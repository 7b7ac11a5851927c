package extract

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"

	suggestpkg "github.com/idsync/idsync/internal/suggest"
)

// Errors wrapped by the errors this package returns, to be tested with
// errors.Is.
var (
	// ErrNotSeekable is returned by Reader.ReadAt on a reader that cannot
	// read a record again by its offset.
	ErrNotSeekable = errors.New("extract: reader cannot read at an offset")
	// ErrNoHeader means that a file holds no header: it is empty or
	// blank.
	ErrNoHeader = errors.New("no header")

	// ErrFieldCount means that a record has more or fewer fields than the
	// header.
	ErrFieldCount = errors.New("wrong number of fields")

	// ErrInvalidUTF8 means that a field is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")

	// ErrRecordTooLong means that a CSV record is larger than
	// Options.MaxRecordBytes, usually because of a missing closing quote.
	ErrRecordTooLong = errors.New("record too long")

	// ErrCellValue means that a value cannot be stored in an XLSX cell: it
	// holds a control character that XML cannot represent or is longer
	// than 32767 characters.
	ErrCellValue = errors.New("value cannot be stored in an XLSX cell")

	// ErrBadRecord is matched by the errors of Reader.Read that concern a
	// single record, after which Read can go on with the next one: a
	// record with the wrong number of fields, invalid UTF-8, or a CSV
	// syntax error within one line.
	ErrBadRecord = errors.New("bad record")
)

// A ParseError reports bad input in a file. Line and Column are 1-based and
// 0 when unknown. For CSV, Line is a physical line and Column a byte
// position in that line, as in encoding/csv; for XLSX, they are the row
// number and the column number (A is 1).
type ParseError struct {
	File      string // file name, as given to Open or a New function
	StartLine int    // line where the record starts, if not Line; else 0
	Line      int    // line where the error is
	Column    int    // column where the error is
	Err       error  // the actual error
}

// Error returns a message such as
// `extract: users.csv:12:3: bare " in non-quoted-field`.
func (e *ParseError) Error() string {
	pos := e.File
	if e.Line > 0 {
		if pos != "" {
			pos += ":"
		}
		pos += strconv.Itoa(e.Line)
		if e.Column > 0 {
			pos += ":" + strconv.Itoa(e.Column)
		}
	}
	if e.StartLine > 0 && e.StartLine != e.Line {
		pos += fmt.Sprintf(": in record starting on line %d", e.StartLine)
	}
	if pos == "" {
		return "extract: " + e.Err.Error()
	}
	return "extract: " + pos + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrBadRecord and e concerns a single record.
func (e *ParseError) Is(target error) bool {
	if target != ErrBadRecord {
		return false
	}
	if errors.Is(e.Err, ErrFieldCount) || errors.Is(e.Err, ErrInvalidUTF8) {
		return true
	}
	// A syntax error over several lines leaves unknown which of them are
	// records: a missing quote may have merged several.
	return e.StartLine == 0 && (errors.Is(e.Err, csv.ErrBareQuote) || errors.Is(e.Err, csv.ErrQuote))
}

// A HeaderError reports columns requested from [Reader.Columns] that cannot
// be located in a file's header.
type HeaderError struct {
	File      string   // file name
	Header    []string // the file's header
	Missing   []string // requested names absent from the header
	Ambiguous []string // requested names found more than once in the header
}

// Error lists the problems, suggesting a close name for each missing one,
// and a separator when the header was read as one column that holds
// another separator (`did you mean separator: ";"?`).
func (e *HeaderError) Error() string {
	if sep := e.separator(); sep != 0 && len(e.Missing) > 0 && len(e.Ambiguous) == 0 {
		h := e.Header[0]
		if r := []rune(h); len(r) > 60 {
			h = string(r[:60]) + "..."
		}
		quoted := make([]string, len(e.Missing))
		for i, name := range e.Missing {
			quoted[i] = strconv.Quote(name)
		}
		return fmt.Sprintf("extract: %s: the header is read as one column, %q: did you mean separator: %q? (not found: %s)",
			e.File, h, string(sep), strings.Join(quoted, ", "))
	}
	var problems []string
	for _, name := range e.Missing {
		p := fmt.Sprintf("column %q not found", name)
		if s := suggest(e.Header, name); s != "" {
			p += fmt.Sprintf(" (did you mean %q?)", s)
		}
		problems = append(problems, p)
	}
	for _, name := range e.Ambiguous {
		problems = append(problems, duplicate(e.Header, name))
	}
	return "extract: " + e.File + ": " + strings.Join(problems, "; ")
}

// separator returns the field separator that the header seems to be
// written with when it was read as one column, or 0: the one of ; tab , |
// it holds most often. A workbook's cells have no separator.
func (e *HeaderError) separator() rune {
	if len(e.Header) != 1 || strings.HasSuffix(strings.ToLower(e.File), ".xlsx") {
		return 0
	}
	var best rune
	n := 0
	for _, sep := range []rune{';', '\t', ',', '|'} {
		if c := strings.Count(e.Header[0], string(sep)); c > n {
			best, n = sep, c
		}
	}
	return best
}

// duplicate describes a name found more than once in header.
func duplicate(header []string, name string) string {
	var cols []string
	for i, h := range header {
		if h == name {
			cols = append(cols, strconv.Itoa(i+1))
		}
	}
	return fmt.Sprintf("column %q appears %d times (columns %s)", name, len(cols), strings.Join(cols, ", "))
}

// suggest returns the name in header closest to name, or "" if none is
// close (see [suggest.Closest]).
func suggest(header []string, name string) string { return suggestpkg.Closest(header, name) }
