package entitytype_test

import (
	"errors"
	"fmt"

	"github.com/idsync/idsync/entitytype"
)

func ExampleNewConverter() {
	hired := entitytype.Property{Name: "hired", Column: "Hire Date", Type: entitytype.Date, Format: "dd/MM/yyyy"}
	c, err := entitytype.NewConverter(&hired)
	if err != nil {
		panic(err)
	}
	for _, raw := range []string{"02/01/2024", "2024-01-02", ""} {
		v, err := c.Convert(raw)
		fmt.Printf("%q → %q %v\n", raw, v, err)
	}
	// Output:
	// "02/01/2024" → "2024-01-02" <nil>
	// "2024-01-02" → "2024-01-02" <nil>
	// "" → "" <nil>
}

func ExampleNewConverter_badFormat() {
	_, err := entitytype.NewConverter(&entitytype.Property{Type: entitytype.Date, Format: "YYYY-MM-DD"})
	fmt.Println("properties[1]." + err.Error())
	// Output:
	// properties[1].format: "YYYY" is the week-based year: write yyyy in pattern "YYYY-MM-DD"
}

func ExampleConverter_Convert() {
	for _, x := range []struct {
		prop entitytype.Property
		raw  string
	}{
		{entitytype.Property{Type: entitytype.Int}, " +0042 "},
		{entitytype.Property{Type: entitytype.Decimal}, "1.50"},
		{entitytype.Property{Type: entitytype.Decimal, Format: "comma"}, "-0,50"},
		{entitytype.Property{Type: entitytype.Bool}, "Y"},
		{entitytype.Property{Type: entitytype.GUID}, "{6F9619FF-8B86-D011-B42D-00C04FC964FF}"},
		{entitytype.Property{Type: entitytype.Binary}, "-_8"},
		{entitytype.Property{Type: entitytype.DateTime, Format: "ldap"}, "20240102150405.0-0500"},
		{entitytype.Property{Type: entitytype.DateTime, Format: "filetime"}, "133485408000000000"},
		{entitytype.Property{Type: entitytype.DateTime, Format: "yyyy-MM-dd HH:mm", TimeZone: "Europe/Paris"}, "2024-07-01 12:00"},
	} {
		c, err := entitytype.NewConverter(&x.prop)
		if err != nil {
			panic(err)
		}
		v, err := c.Convert(x.raw)
		fmt.Printf("%-8s %q → %q %v\n", x.prop.Type, x.raw, v, err)
	}
	// Output:
	// int      " +0042 " → "42" <nil>
	// decimal  "1.50" → "1.5" <nil>
	// decimal  "-0,50" → "-0.5" <nil>
	// bool     "Y" → "true" <nil>
	// guid     "{6F9619FF-8B86-D011-B42D-00C04FC964FF}" → "6f9619ff-8b86-d011-b42d-00c04fc964ff" <nil>
	// binary   "-_8" → "+/8=" <nil>
	// datetime "20240102150405.0-0500" → "2024-01-02T20:04:05Z" <nil>
	// datetime "133485408000000000" → "2024-01-01T00:00:00Z" <nil>
	// datetime "2024-07-01 12:00" → "2024-07-01T10:00:00Z" <nil>
}

func ExampleConverter_Convert_multiValued() {
	c, err := entitytype.NewConverter(&entitytype.Property{Type: entitytype.Int, MultiValued: true, Separator: ";"})
	if err != nil {
		panic(err)
	}
	v, err := c.Convert("3; 1;;2;01")
	fmt.Printf("%q %v\n", v, err)
	// Output:
	// "1\x1f2\x1f3" <nil>
}

func ExampleValueError() {
	c, err := entitytype.NewConverter(&entitytype.Property{Type: entitytype.Date, Format: "dd/MM/yyyy"})
	if err != nil {
		panic(err)
	}
	_, err = c.Convert("29/02/2023")
	fmt.Println(err)
	fmt.Println(errors.Is(err, entitytype.ErrInvalidValue))
	var ve *entitytype.ValueError
	if errors.As(err, &ve) {
		fmt.Println(ve.Kind, ve.Format, ve.Raw, ve.Reason)
	}
	// Output:
	// entitytype: "29/02/2023" is not a date in format dd/MM/yyyy: day out of range
	// true
	// date dd/MM/yyyy 29/02/2023 day out of range
}

func ExampleCompileExpression() {
	header := []string{"EmployeeID", "First Name", "LastName", "Nickname"}
	e, err := entitytype.CompileExpression(
		`lower(unaccent(coalesce(Nickname, $env["First Name"]))) + "." + lower(unaccent(LastName))`, header)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", e.Columns())
	v, err := e.Eval([]string{"Hélène", "Müller", ""})
	fmt.Println(v, err)

	_, err = entitytype.CompileExpression(`FirstName + LastName`, header)
	fmt.Println(err)
	// Output:
	// ["First Name" "LastName" "Nickname"]
	// helene.muller <nil>
	// expression: unknown column "FirstName" (the columns are "EmployeeID", "First Name", "LastName", "Nickname") at 1:1
}
