// Package rec encodes the records that idsync keeps in its work files and
// sorts externally: a record is a sequence of byte fields, each written as
// its length (uvarint) followed by its bytes. The first field is the sort
// key. Files hold records framed by their total length (uvarint).
//
// The encoding is compact (one byte of overhead per short field), needs no
// escaping, and a record's key is read without decoding the rest.
package rec

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrCorrupt is returned for bytes that are not a valid record.
var ErrCorrupt = errors.New("rec: corrupt record")

// AppendString appends one field.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendBytes appends one field.
func AppendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// AppendPair appends a, a NUL byte and b as one field, without building
// the joined string.
func AppendPair(dst []byte, a, b string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(a)+1+len(b)))
	dst = append(dst, a...)
	dst = append(dst, 0)
	return append(dst, b...)
}

// AppendUint appends an unsigned integer as one field.
func AppendUint(dst []byte, v uint64) []byte {
	var buf [binary.MaxVarintLen64]byte
	return AppendBytes(dst, buf[:binary.PutUvarint(buf[:], v)])
}

// Fields iterates over the fields of a record.
type Fields struct {
	b   []byte
	err error
}

// Split returns an iterator over the fields of r.
func Split(r []byte) Fields { return Fields{b: r} }

// More reports whether fields remain.
func (f *Fields) More() bool { return len(f.b) > 0 && f.err == nil }

// Next returns the next field, aliasing the record's bytes.
func (f *Fields) Next() []byte {
	n, w := binary.Uvarint(f.b)
	if w <= 0 || uint64(len(f.b)-w) < n {
		f.err = ErrCorrupt
		f.b = nil
		return nil
	}
	v := f.b[w : w+int(n)]
	f.b = f.b[w+int(n):]
	return v
}

// NextString returns the next field as a new string.
func (f *Fields) NextString() string { return string(f.Next()) }

// NextUint returns the next field as an integer written by AppendUint.
func (f *Fields) NextUint() uint64 {
	b := f.Next()
	v, w := binary.Uvarint(b)
	if w <= 0 && f.err == nil {
		f.err = ErrCorrupt
	}
	return v
}

// Err returns ErrCorrupt if a field was malformed.
func (f *Fields) Err() error { return f.err }

// Key returns the first field of r, aliasing r.
func Key(r []byte) []byte {
	// Fast path: keys shorter than 128 bytes have a one-byte length.
	if len(r) > 0 && r[0] < 0x80 && int(r[0]) < len(r) {
		return r[1 : 1+int(r[0])]
	}
	f := Split(r)
	return f.Next()
}

// CompareKeys orders records by their first field, bytewise.
func CompareKeys(a, b []byte) int { return bytes.Compare(Key(a), Key(b)) }

// KeyPrefix returns the first 8 bytes of r's key as a big-endian number,
// zero-padded: an order-preserving prefix for CompareKeys.
func KeyPrefix(r []byte) uint64 {
	var b [8]byte
	copy(b[:], Key(r))
	return binary.BigEndian.Uint64(b[:])
}

// Writer writes length-framed records to a buffered stream.
type Writer struct {
	w   *bufio.Writer
	n   int64
	buf [binary.MaxVarintLen64]byte
}

// NewWriter returns a Writer on w with a large buffer.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 256<<10)} }

// Write writes one record.
func (w *Writer) Write(r []byte) error {
	if _, err := w.w.Write(w.buf[:binary.PutUvarint(w.buf[:], uint64(len(r)))]); err != nil {
		return err
	}
	_, err := w.w.Write(r)
	w.n++
	return err
}

// Count returns the number of records written.
func (w *Writer) Count() int64 { return w.n }

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads length-framed records.
type Reader struct {
	r   *bufio.Reader
	buf []byte
	err error
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 256<<10)} }

// MaxRecord bounds a record's size so that a corrupt length cannot make a
// reader allocate without limit.
const MaxRecord = 1 << 30

// Next reads the next record; it returns false at the end or on error.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		if err != io.EOF {
			r.err = fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return false
	}
	if n > MaxRecord {
		r.err = fmt.Errorf("%w: record of %d bytes", ErrCorrupt, n)
		return false
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n, max(n, 2*uint64(cap(r.buf))))
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		r.err = fmt.Errorf("%w: truncated: %v", ErrCorrupt, err)
		return false
	}
	return true
}

// Record returns the record read by Next; valid until the next call.
func (r *Reader) Record() []byte { return r.buf }

// Err returns the first error met, nil at a clean end.
func (r *Reader) Err() error { return r.err }
