package extract

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrorMessage(t *testing.T) {
	err := errors.New("boom")
	tests := []struct {
		e    ParseError
		want string
	}{
		{ParseError{File: "a.csv", Line: 12, Column: 3, Err: err}, "extract: a.csv:12:3: boom"},
		{ParseError{File: "a.csv", Line: 12, Err: err}, "extract: a.csv:12: boom"},
		{ParseError{File: "a.csv", StartLine: 10, Line: 12, Column: 3, Err: err}, "extract: a.csv:12:3: in record starting on line 10: boom"},
		{ParseError{File: "a.csv", Err: err}, "extract: a.csv: boom"},
		{ParseError{Line: 4, Err: err}, "extract: 4: boom"},
		{ParseError{Err: err}, "extract: boom"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
		if !errors.Is(&tt.e, err) {
			t.Errorf("%v does not wrap its error", &tt.e)
		}
	}
}

func TestSuggest(t *testing.T) {
	header := []string{"id", "Login", "E-mail", "first_name", "", "organization"}
	tests := map[string]string{
		"login":       "Login",
		"LOGIN":       "Login",
		"email":       "E-mail",
		"First Name":  "first_name",
		"firstname":   "first_name",
		"organisaton": "organization",
		"ID":          "id",
		"ip":          "",
		"phone":       "",
		"":            "",
	}
	for name, want := range tests {
		if got := suggest(header, name); got != want {
			t.Errorf("suggest(%q) = %q; want %q", name, got, want)
		}
	}
}

// A header read as one column that holds another separator than the one
// configured says which separator was meant.
func TestHeaderErrorSuggestsSeparator(t *testing.T) {
	tests := []struct {
		name, file, data string
		sep              rune
		want             string
	}{
		{"semicolon", "users.csv", "ID;Login;OrgCode\nU1;ann;O1\n", 0,
			`extract: users.csv: the header is read as one column, "ID;Login;OrgCode": did you mean separator: ";"? (not found: "ID", "OrgCode")`},
		{"tab", "users.csv", "ID\tLogin\tOrgCode\nU1\tann\tO1\n", 0,
			`extract: users.csv: the header is read as one column, "ID\tLogin\tOrgCode": did you mean separator: "\t"? (not found: "ID", "OrgCode")`},
		{"comma when ; is configured", "users.csv", "ID,Login,OrgCode\nU1,ann,O1\n", ';',
			`extract: users.csv: the header is read as one column, "ID,Login,OrgCode": did you mean separator: ","? (not found: "ID", "OrgCode")`},
		{"long header", "users.csv", "ID;Login;FirstName;LastName;Email;HireDate;Active;OrgCode;Manager;Phone\n", 0,
			`extract: users.csv: the header is read as one column, "ID;Login;FirstName;LastName;Email;HireDate;Active;OrgCode;Ma...": did you mean separator: ";"? (not found: "ID", "OrgCode")`},
		{"one real column", "users.csv", "Identifier\nU1\n", 0,
			`extract: users.csv: column "ID" not found; column "OrgCode" not found`},
		{"several columns", "users.csv", "ID;X,Login\n", 0,
			`extract: users.csv: column "ID" not found; column "OrgCode" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCSVReader(strings.NewReader(tt.data), tt.file, &Options{Separator: tt.sep})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Columns("ID", "OrgCode")
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("Columns: %v; want a *HeaderError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}
