package extract

import (
	"errors"
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
