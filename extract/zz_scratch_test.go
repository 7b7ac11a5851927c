package extract

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"testing"
	"time"
)

func TestScratchXMLCost(t *testing.T) {
	var recs [][]string
	recs = append(recs, []string{"id", "login", "first", "last", "email", "hire", "active", "org", "guid", "salary"})
	for i := 0; i < 100000; i++ {
		recs = append(recs, []string{fmt.Sprint(i), fmt.Sprintf("user%d", i), "John", "Doe", fmt.Sprintf("user%d@example.com", i), "02/01/2024", "Y", "ORG12", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "1234.56"})
	}
	data := xlsxBytes(t, recs, nil)
	t0 := time.Now()
	if _, err := checkZip(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			rc, _ := zf.Open()
			d := xml.NewDecoder(rc)
			n := 0
			for {
				_, err := d.RawToken()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			t.Logf("tokens %d size %d", n, zf.UncompressedSize64)
		}
	}
	t2 := time.Now()
	r, err := NewXLSXReader(bytes.NewReader(data), "x.xlsx", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		n++
	}
	t3 := time.Now()
	t.Logf("zip %d bytes; checkZip %v, rawtoken %v, read %v (%d rows)", len(data), t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), n)
}
