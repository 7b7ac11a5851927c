package extract

import (
	"bytes"
	"io"
)

// Files written with the line ends of classic Mac OS end their lines with a
// lone carriage return, which encoding/csv does not take for a line end:
// such a file would read as one long line. The CSV reader reads them
// through a crReader, which turns each lone carriage return into a newline:
// one byte for one, so offsets are those of the file, and lines are counted
// as a text editor counts them.

// crReader is what r reads, with its lone carriage returns (not followed by
// a newline) turned into newlines when convert is set.
type crReader struct {
	r       io.Reader
	convert bool
	buf     []byte // read from r, not returned yet: the read ahead, or a held back '\r'
	err     error  // the error of r after buf, returned once buf is returned
	back    []byte // buf's storage after the read ahead, when converting
}

// detectCR returns a reader of what r reads, which turns lone carriage
// returns into newlines if the first line of r ends with one, and whether
// it does. It reads r ahead until the end of the first line (outside
// quotes, as separated by sep), or a buffer's worth of bytes.
func detectCR(r io.Reader, sep rune) (*crReader, bool) {
	c := &crReader{r: r}
	buf := make([]byte, 0, 512)
	for empty := 0; empty < 100; {
		if len(buf) == cap(buf) {
			if len(buf) >= bufSize {
				break
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n == 0 && err == nil {
			empty++ // as bufio, give up on a reader that returns nothing
			continue
		}
		end, found := firstLineEnd(buf, sep)
		if found || err != nil {
			if found && buf[end] == '\r' {
				if end+1 < len(buf) {
					c.convert = buf[end+1] != '\n'
				} else if err == io.EOF {
					c.convert = true
				} else if err == nil {
					continue // the next byte decides
				}
			}
			c.err = err
			break
		}
	}
	c.buf = buf
	if c.convert {
		c.lone()
	}
	return c, c.convert
}

// firstLineEnd returns the position of the first '\r' or '\n' of b outside
// a quoted field, and whether there is one. A leading byte order mark is
// skipped.
func firstLineEnd(b []byte, sep rune) (int, bool) {
	i := 0
	if bytes.HasPrefix(b, []byte(bom)) {
		i = len(bom)
	}
	sepBytes := []byte(string(sep))
	quoted, fieldStart := false, true
	for i < len(b) {
		c := b[i]
		switch {
		case quoted:
			if c == '"' {
				if i+1 == len(b) {
					return 0, false // a doubled quote, or the end of the field?
				}
				if b[i+1] == '"' {
					i++
				} else {
					quoted = false
				}
			}
		case c == '\r' || c == '\n':
			return i, true
		case bytes.HasPrefix(b[i:], sepBytes):
			i += len(sepBytes)
			fieldStart = true
			continue
		case c == '"' && fieldStart:
			quoted = true
		}
		fieldStart = false
		i++
	}
	return 0, false
}

// lone turns the lone carriage returns of c.buf into newlines, but for a
// carriage return that ends it, which the next byte decides.
func (c *crReader) lone() {
	b := c.buf
	for i := bytes.IndexByte(b, '\r'); i >= 0 && i+1 < len(b); {
		if b[i+1] != '\n' {
			b[i] = '\n'
		}
		j := bytes.IndexByte(b[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
}

// Read implements io.Reader. A carriage return that ends what r returned
// is held back until the next byte, or the end of r, tells whether it is
// lone.
func (c *crReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		ready := len(c.buf)
		if c.convert && ready > 0 && c.buf[ready-1] == '\r' {
			if c.err == io.EOF {
				c.buf[ready-1] = '\n'
			} else {
				ready-- // held back
			}
		}
		if ready > 0 {
			n := copy(p, c.buf[:ready])
			c.buf = c.buf[n:]
			return n, nil
		}
		if c.err != nil {
			// Returned once: r may go on after an error, and returns
			// io.EOF again.
			err := c.err
			c.err = nil
			return 0, err
		}
		if !c.convert {
			return c.r.Read(p)
		}
		held := len(c.buf) // 0, or 1 for a carriage return
		if c.back == nil {
			c.back = make([]byte, 4096)
		}
		copy(c.back, c.buf)
		n, err := c.r.Read(c.back[held:])
		c.buf, c.err = c.back[:held+n], err
		c.lone()
		if n == 0 && err == nil {
			return 0, nil
		}
	}
}
