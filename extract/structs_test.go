package extract

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

type user struct {
	ID     int     `csv:"id"`
	Login  string  `csv:"login"`
	Email  string  `csv:"email"`
	Active bool    `csv:"active"`
	Salary float64 `csv:"salary"`
	Notes  string  `csv:"-"`
}

var users = []user{
	{ID: 1, Login: "jdoe", Email: "jdoe@example.com", Active: true, Salary: 1234.5},
	{ID: 2, Login: " asmith ", Email: "", Active: false, Salary: 0},
	{ID: 3, Login: "Émile\nZola", Email: `"quoted", with comma`, Active: true, Salary: -1e-3},
}

func TestStructs(t *testing.T) {
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var w Writer = NewCSVWriter(&buf, nil)
			if format == "xlsx" {
				var err error
				if w, err = NewXLSXWriter(&buf, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteStructs(w, users); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var r *Reader
			var err error
			if format == "xlsx" {
				r, err = NewXLSXReader(&buf, "users.xlsx", nil)
			} else {
				r, err = NewCSVReader(&buf, "users.csv", nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := r.Header(), []string{"id", "login", "email", "active", "salary"}; !reflect.DeepEqual(got, want) {
				t.Errorf("header %q; want %q", got, want)
			}
			var got []*user
			if err := ReadStructs(r, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(users) {
				t.Fatalf("read %d users; want %d", len(got), len(users))
			}
			for i, u := range got {
				if *u != users[i] {
					t.Errorf("user %d = %+v; want %+v", i, *u, users[i])
				}
			}
		})
	}
}

func TestReadStructsErrors(t *testing.T) {
	tests := []struct {
		input string
		err   string
	}{
		{
			input: "id,login,mail,active\n1,jdoe,x,true\n",
			err:   `extract: users.csv: column "email" not found (did you mean "mail"?); column "salary" not found`,
		},
		{
			input: "salary,id,login,email,active,extra\n1.5,1,jdoe,,true,x\n2,\"two\nlines\",x,,true,x\n",
			err:   `extract: users.csv:3: column "id": strconv.ParseInt: parsing "two\nlines": invalid syntax`,
		},
		{
			input: "salary,id,login,email,active\n1.5,1,jdoe,,true\n2,2,x,,true,x\n",
			err:   "extract: users.csv:3: wrong number of fields: 6, header has 5",
		},
	}
	for _, tt := range tests {
		r, err := NewCSVReader(strings.NewReader(tt.input), "users.csv", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []user
		err = ReadStructs(r, &got)
		if err == nil || err.Error() != tt.err {
			t.Errorf("ReadStructs error:\n%v\nwant:\n%s", err, tt.err)
		}
	}
	r := newCSV(t, "id\n1\n", nil)
	if err := ReadStructs(r, []user{}); err == nil || !strings.Contains(err.Error(), "pointer to a slice") {
		t.Errorf("ReadStructs into a slice: error %v", err)
	}
}

func TestWriteStructsErrors(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewXLSXWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := []user{{ID: 1, Login: "nul\x00"}}
	if err := WriteStructs(w, bad); !errors.Is(err, ErrCellValue) {
		t.Errorf("WriteStructs error = %v; want %v", err, ErrCellValue)
	}
	if err := WriteStructs(w, 42); err == nil || !strings.HasPrefix(err.Error(), "extract: ") {
		t.Errorf("WriteStructs(42) error = %v", err)
	}
}
