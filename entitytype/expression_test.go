package entitytype

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hrColumns = []string{"EmployeeID", "FirstName", "LastName", "Nickname", "Hire Date", "Age", "in", "type"}

func TestExpressionEval(t *testing.T) {
	tests := []struct {
		src     string
		columns []string // what Columns returns
		values  []string
		want    string
	}{
		{`FirstName + " " + LastName`, []string{"FirstName", "LastName"}, []string{"Jean", "Dupont"}, "Jean Dupont"},
		{`lower(LastName) + "." + lower(FirstName)`, []string{"FirstName", "LastName"}, []string{"Jean", "DUPONT"}, "dupont.jean"},
		{`$env["Hire Date"]`, []string{"Hire Date"}, []string{"02/01/2024"}, "02/01/2024"},
		{`$env["in"] + type`, []string{"in", "type"}, []string{"a", "b"}, "ab"},
		{`upper(type)`, []string{"type"}, []string{"ext"}, "EXT"},
		{`coalesce(Nickname, FirstName)`, []string{"FirstName", "Nickname"}, []string{"Jean", ""}, "Jean"},
		{`coalesce(Nickname, FirstName)`, []string{"FirstName", "Nickname"}, []string{"Jean", "Jeannot"}, "Jeannot"},
		{`coalesce(Nickname, "")`, []string{"Nickname"}, []string{""}, ""},
		{`unaccent(FirstName)`, []string{"FirstName"}, []string{"Hélène Müller-Strauß Øystein Łukasz Ærø"}, "Helene Muller-Strauss Oystein Lukasz AEro"},
		{`unaccent(FirstName)`, []string{"FirstName"}, []string{"He\u0301le\u0300ne Ελένη ﬁ"}, "Helene Ελενη ﬁ"},
		{`trim(FirstName) == "" ? nil : FirstName`, []string{"FirstName"}, []string{"  "}, ""},
		{`int(Age) + 1`, []string{"Age"}, []string{"41"}, "42"},
		{`float(Age) / 4`, []string{"Age"}, []string{"10"}, "2.5"},
		{`1e21 + 0 * len(Age)`, []string{"Age"}, []string{""}, "1000000000000000000000"},
		{`0.1 + 0.2`, nil, nil, "0.30000000000000004"},
		{`int(Age) >= 18`, []string{"Age"}, []string{"17"}, "false"},
		{`EmployeeID startsWith "E"`, []string{"EmployeeID"}, []string{"E42"}, "true"},
		{`nil`, nil, nil, ""},
		{`date($env["Hire Date"], "02/01/2006")`, []string{"Hire Date"}, []string{"02/01/2024"}, "2024-01-02T00:00:00Z"},
		{`let name = FirstName; name + name`, []string{"FirstName"}, []string{"ab"}, "abab"},
		{`split(LastName, "-")[0]`, []string{"LastName"}, []string{"Dupont-Durand"}, "Dupont"},
		{`join(split(Nickname, ","), "|")`, []string{"Nickname"}, []string{"a,b"}, "a|b"},
		// A computed $env name reads every column.
		{`$env[Nickname]`, hrColumns, []string{"", "", "", "LastName", "", "", "", ""}, ""},
		{`len($env)`, hrColumns, make([]string, len(hrColumns)), "8"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			e, err := CompileExpression(tc.src, hrColumns)
			require.NoError(t, err)
			assert.Equal(t, tc.src, e.String())
			assert.Equal(t, tc.columns, e.Columns())
			got, err := e.Eval(tc.values)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestExpressionDynamicEnv(t *testing.T) {
	e, err := CompileExpression(`$env[Nickname]`, []string{"Nickname", "LastName"})
	require.NoError(t, err)
	got, err := e.Eval([]string{"LastName", "Dupont"})
	require.NoError(t, err)
	assert.Equal(t, "Dupont", got)
}

func TestCompileExpressionErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`FirstNme + LastName`, `expression: unknown column "FirstNme" (the columns are "EmployeeID", "FirstName", "LastName", "Nickname", "Hire Date", "Age", "in", "type") at 1:1`},
		{`$env["Hire date"]`, `expression: unknown column "Hire date"`},
		{`FirstName +`, `expression: unexpected token EOF`},
		{`FirstName + 1`, `expression: invalid operation: + (mismatched types string and int)`},
		{`nosuch(FirstName)`, `expression: unknown column "nosuch"`},
		{`unaccent(1)`, `expression: cannot use int as argument (type string) to call unaccent`},
		{``, `expression: `},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			e, err := CompileExpression(tc.src, hrColumns)
			require.Error(t, err)
			assert.Nil(t, e)
			assert.Contains(t, err.Error(), tc.want)
			var pe *PropertyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "expression", pe.Field)
		})
	}
}

func TestExpressionEvalErrors(t *testing.T) {
	tests := []struct{ src, value, want string }{
		{`int(Age) + 1`, "forty", `entitytype: expression "int(Age) + 1": invalid operation: int(forty)`},
		{`split(Age, ",")`, "1,2", `entitytype: expression "split(Age, \",\")": result of type []string is not a single value`},
		{`float(Age) / 0`, "1", `entitytype: expression "float(Age) / 0": result +Inf is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			e, err := CompileExpression(tc.src, []string{"Age"})
			require.NoError(t, err)
			got, err := e.Eval([]string{tc.value})
			require.Error(t, err)
			assert.Empty(t, got)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n")
			assert.True(t, errors.Is(err, ErrInvalidValue))
			var ee *ExpressionError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, tc.src, ee.Expression)
		})
	}

	e, err := CompileExpression(`Age`, []string{"Age"})
	require.NoError(t, err)
	_, err = e.Eval(nil)
	assert.Error(t, err)
}

// TestExpressionThenConvert is the way Prepare uses an expression: its
// text is converted like a raw value of the property's kind.
func TestExpressionThenConvert(t *testing.T) {
	p := Property{Name: "hired", Type: Date, Format: "dd/MM/yyyy", Expression: `coalesce($env["Hire Date"], "01/01/1970")`}
	e, err := CompileExpression(p.Expression, hrColumns)
	require.NoError(t, err)
	c, err := NewConverter(&p)
	require.NoError(t, err)
	for raw, want := range map[string]string{"02/01/2024": "2024-01-02", "": "1970-01-01"} {
		text, err := e.Eval([]string{raw})
		require.NoError(t, err)
		got, err := c.Convert(text)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestExpressionConcurrent(t *testing.T) {
	e, err := CompileExpression(`lower(FirstName) + "." + LastName`, hrColumns)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				n := strconv.Itoa(g*1000 + i)
				got, err := e.Eval([]string{"A" + n, n})
				if assert.NoError(t, err) {
					assert.Equal(t, "a"+n+"."+n, got)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkExpressionEval(b *testing.B) {
	for _, bc := range []struct{ name, src string }{
		{"concat", `FirstName + " " + LastName`},
		{"login", `lower(unaccent(FirstName)) + "." + lower(unaccent(LastName))`},
		{"coalesce", `coalesce(Nickname, FirstName)`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := CompileExpression(bc.src, hrColumns)
			require.NoError(b, err)
			values := make([]string, len(e.Columns()))
			for i := range values {
				values[i] = "Hélène"
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
