package entitytype

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"golang.org/x/text/unicode/norm"
)

// Expression is a compiled [Property.Expression]: a formula in the expr
// language (https://expr-lang.org) over the source columns of a row. It is
// immutable and safe for concurrent use.
//
// Each source column is a variable named after its header, holding the raw
// cell text (a string): `FirstName + " " + LastName`. A header that is not an
// identifier (it has a space, a dash, or is a keyword such as "in") is read
// with `$env["Hire Date"]`. A column named like a function (date, type,
// trim...) hides that function in the expression.
//
// Besides expr's builtins (trim, lower, upper, split, replace, hasPrefix,
// len, first, last, join, date, int, float, ..., and the ?: and ?? operators),
// two functions help build identifiers:
//
//	coalesce(a, b, ...)  the first argument that is not empty, or ""
//	unaccent(s)          s without diacritics: "Hélène Müller-Strauß" → "Helene Muller-Strauss"
type Expression struct {
	src     string
	program *vm.Program
	columns []string
	states  sync.Pool // of *exprState
}

// exprState is what one evaluation reuses: a VM and an environment.
type exprState struct {
	vm  vm.VM
	env map[string]any
}

// ExpressionError reports an expression that failed on a row's values. It
// matches [ErrInvalidValue], like a raw value that does not convert.
type ExpressionError struct {
	// Expression is the expression's source text.
	Expression string
	// Err is the evaluation error.
	Err error
}

// Error returns a message such as
// `entitytype: expression "int(Age) + 1": invalid operation: int(forty)`.
func (e *ExpressionError) Error() string {
	msg := e.Err.Error()
	if fe, ok := e.Err.(*file.Error); ok {
		msg = fe.Message
	}
	return fmt.Sprintf("entitytype: expression %q: %s", e.Expression, msg)
}

// Unwrap returns Err.
func (e *ExpressionError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrInvalidValue].
func (e *ExpressionError) Is(target error) bool { return target == ErrInvalidValue }

var exprFunctions = []expr.Option{
	expr.Function("coalesce", func(args ...any) (any, error) {
		for _, a := range args {
			if s, _ := a.(string); s != "" {
				return s, nil
			}
		}
		return "", nil
	}, new(func(...string) string)),
	expr.Function("unaccent", func(args ...any) (any, error) {
		return unaccent(args[0].(string)), nil
	}, new(func(string) string)),
}

// CompileExpression compiles src, an expression over the given source
// columns (header names). It fails on a syntax or type error and on a
// name that is neither a column nor a function, listing the columns; the
// error is a [*PropertyError] for the field "expression".
func CompileExpression(src string, columns []string) (*Expression, error) {
	env := make(map[string]any, len(columns))
	for _, c := range columns {
		env[c] = ""
	}
	program, err := expr.Compile(src, append([]expr.Option{expr.Env(env)}, exprFunctions...)...)
	if err != nil {
		return nil, compileError(err, columns)
	}
	e := &Expression{src: src, program: program, columns: readColumns(program.Node(), columns)}
	e.states.New = func() any {
		env := make(map[string]any, len(e.columns))
		for _, c := range e.columns {
			env[c] = ""
		}
		return &exprState{env: env}
	}
	return e, nil
}

func compileError(err error, columns []string) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return fieldError("expression", "%s", err)
	}
	msg := fe.Message
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		list := columns
		if len(list) > 30 {
			list = list[:30]
		}
		quoted := make([]string, len(list))
		for i, c := range list {
			quoted[i] = strconv.Quote(c)
		}
		more := ""
		if len(list) < len(columns) {
			more = ", ..."
		}
		msg = fmt.Sprintf("unknown column %q (the columns are %s%s)", name, strings.Join(quoted, ", "), more)
	}
	return fieldError("expression", "%s at %d:%d", msg, fe.Line, fe.Column+1)
}

// readColumns returns the columns, in their given order, that node reads;
// all of them when it reads $env with a computed name.
func readColumns(node ast.Node, columns []string) []string {
	r := columnReader{used: map[string]bool{}, member: map[*ast.IdentifierNode]bool{}}
	ast.Walk(&node, &r)
	all := false
	for _, id := range r.envs {
		all = all || !r.member[id]
	}
	var out []string
	for _, c := range columns {
		if (all || r.used[c]) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

type columnReader struct {
	used   map[string]bool
	member map[*ast.IdentifierNode]bool // $env in $env["name"]
	envs   []*ast.IdentifierNode        // every $env
}

// Visit records the columns that node reads; it is called after the
// node's children are visited.
func (r *columnReader) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			r.envs = append(r.envs, n)
		} else {
			r.used[n.Value] = true
		}
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
			if s, ok := n.Property.(*ast.StringNode); ok {
				r.used[s.Value] = true
				r.member[id] = true
			}
		}
	}
}

// String returns the expression's source text.
func (e *Expression) String() string { return e.src }

// Columns returns the source columns that the expression reads, in the
// order of the columns given to [CompileExpression]: the values passed to
// Eval.
func (e *Expression) Columns() []string { return slices.Clone(e.columns) }

// Eval evaluates the expression on values, the raw texts of [Expression.Columns]
// in that order, and returns its result as text, to be converted like a raw
// value of the property's kind: nil is "", a bool "true" or "false", a
// number is written in base 10 without an exponent, a time in RFC 3339; a
// list or a map is an error. A failure is an [*ExpressionError].
func (e *Expression) Eval(values []string) (string, error) {
	if len(values) != len(e.columns) {
		return "", fmt.Errorf("entitytype: expression %q reads %d columns, got %d values", e.src, len(e.columns), len(values))
	}
	st := e.states.Get().(*exprState)
	for i, c := range e.columns {
		st.env[c] = values[i]
	}
	out, err := st.vm.Run(e.program, st.env)
	e.states.Put(st)
	if err != nil {
		return "", &ExpressionError{Expression: e.src, Err: err}
	}
	s, err := resultText(out)
	if err != nil {
		return "", &ExpressionError{Expression: e.src, Err: err}
	}
	return s, nil
}

// resultText writes an expression's result as text.
func resultText(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int8, int16, int32, int64:
		return strconv.FormatInt(toInt64(x), 10), nil
	case uint, uint8, uint16, uint32, uint64, uintptr:
		return fmt.Sprint(x), nil
	case float32:
		return floatText(float64(x), 32)
	case float64:
		return floatText(x, 64)
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case time.Duration:
		return x.String(), nil
	}
	return "", fmt.Errorf("result of type %T is not a single value (join a list with join(list, \"|\"))", v)
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v.(int64)
}

func floatText(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("result %v is not a number", f)
	}
	return strconv.FormatFloat(f, 'f', -1, bits), nil
}

// unaccent removes diacritics (é → e) and spells out the letters that have
// none to remove (ß → ss, æ → ae, ø → o, ł → l).
func unaccent(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		case r < latinEnd && unaccentedLatin[r-latinStart] != "":
			b.WriteString(unaccentedLatin[r-latinStart])
		case unicode.Is(unicode.Mn, r):
		case r < latinEnd:
			b.WriteRune(r)
		default:
			for _, d := range norm.NFD.String(string(r)) {
				if !unicode.Is(unicode.Mn, d) {
					b.WriteRune(d)
				}
			}
		}
	}
	return b.String()
}

// unaccentedLatin holds what unaccent writes for the letters from U+0080 to
// U+024F (Latin-1 Supplement, Latin Extended-A and -B), "" for those it
// keeps.
var unaccentedLatin = func() (t [latinEnd - latinStart]string) {
	for r := rune(latinStart); r < latinEnd; r++ {
		var b strings.Builder
		for _, d := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, d) {
				b.WriteRune(d)
			}
		}
		if b.String() != string(r) {
			t[r-latinStart] = b.String()
		}
	}
	for r, s := range map[rune]string{
		'ß': "ss", 'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", 'ø': "o", 'Ø': "O",
		'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "Th", 'ı': "i",
	} {
		t[r-latinStart] = s
	}
	return t
}()

const latinStart, latinEnd = 0x80, 0x250
