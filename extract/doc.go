// Package extract reads and writes extraction files: the CSV and XLSX
// snapshots of a managed system that a connector exports, one file per
// entity type plus association files such as members.csv.
//
// A [Reader] streams the records of one file, never loading it whole.
// The first record is the header; columns are located by name with
// [Reader.Columns], so a column moved or added elsewhere in the file
// disturbs nothing, and a missing or ambiguous column is a [*HeaderError]
// that lists every problem at once:
//
//	r, err := extract.Open("users.csv", nil)
//	if err != nil {
//		return err
//	}
//	defer r.Close()
//	cols, err := r.Columns("id", "email")
//	if err != nil {
//		return err
//	}
//	for {
//		rec, err := r.Read()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err
//		}
//		id, email := rec[cols[0]], rec[cols[1]]
//		...
//	}
//
// Bad input is reported, never guessed at: malformed CSV, a record whose
// number of fields differs from the header's, invalid UTF-8, a record
// larger than [Options.MaxRecordBytes] and a truncated or corrupt workbook
// are all errors naming the file and, when known, the line and column (see
// [ParseError]). No input makes the package panic.
//
// CSV is read with encoding/csv: any separator, standard quoting, CRLF or
// LF line endings (or, when the first line ends with a lone CR, the line
// endings of classic Mac OS), a leading UTF-8 byte order mark ignored,
// blank lines skipped. XLSX is read with excelize's streaming row iterator: cells
// formatted as dates or times read as ISO 8601 text (2024-01-02,
// 2024-01-02T15:04:05 or 15:04:05), other numbers as their value without
// display formatting (as Excel holds it, to 15 significant digits),
// booleans as TRUE or FALSE, text as is; short rows are padded with empty
// strings and blank rows skipped. As excelize takes a damaged part of a
// workbook for an empty or shorter one, the checksums of all parts and the
// XML of the worksheets are checked first, and a file that is not a
// workbook (not a zip, or a zip without a workbook part) is an error
// matching [ErrNotXLSX] that says what is missing.
//
// [CSVWriter] and [XLSXWriter] write files that read back exactly, and
// [WriteStructs] and [ReadStructs] convert between files and slices of
// structs tagged for github.com/gocarina/gocsv.
package extract
