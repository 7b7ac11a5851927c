package entitytype

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// convCase is a raw value, its property and the expected canonical value,
// or an expected error when err is set.
type convCase struct {
	prop Property
	raw  string
	want string
	err  bool
}

func runConvCases(t *testing.T, cases []convCase) {
	t.Helper()
	for _, tc := range cases {
		name := tc.prop.Type.String() + "/" + tc.prop.Format + "/" + tc.raw
		t.Run(name, func(t *testing.T) {
			c, err := NewConverter(&tc.prop)
			require.NoError(t, err)
			got, err := c.Convert(tc.raw)
			if tc.err {
				require.Error(t, err, "got %q", got)
				assert.ErrorIs(t, err, ErrInvalidValue)
				var ve *ValueError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, tc.prop.Type, ve.Kind)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestConvertString(t *testing.T) {
	str, ref := Property{Type: String}, Property{Type: Ref, Target: "Org"}
	runConvCases(t, []convCase{
		{prop: str, raw: "", want: ""},
		{prop: str, raw: "  Jean  Dupont ", want: "  Jean  Dupont "},
		{prop: str, raw: " ", want: " "},
		{prop: Property{}, raw: "ÉTÉ", want: "ÉTÉ"},
		{prop: ref, raw: " ORG-1", want: " ORG-1"},
		{prop: ref, raw: "", want: ""},
	})
}

func TestConvertInt(t *testing.T) {
	p := Property{Type: Int}
	runConvCases(t, []convCase{
		{prop: p, raw: "42", want: "42"},
		{prop: p, raw: " 42 ", want: "42"},
		{prop: p, raw: "+42", want: "42"},
		{prop: p, raw: "-42", want: "-42"},
		{prop: p, raw: "0", want: "0"},
		{prop: p, raw: "-0", want: "0"},
		{prop: p, raw: "+0", want: "0"},
		{prop: p, raw: "007", want: "7"},
		{prop: p, raw: "-007", want: "-7"},
		{prop: p, raw: "\u00a012\t", want: "12"},
		{prop: p, raw: "9223372036854775807", want: "9223372036854775807"},
		{prop: p, raw: "-9223372036854775808", want: "-9223372036854775808"},
		{prop: p, raw: "", want: ""},
		{prop: p, raw: "   ", want: ""},
		{prop: p, raw: "9223372036854775808", err: true},
		{prop: p, raw: "-9223372036854775809", err: true},
		{prop: p, raw: "99999999999999999999999", err: true},
		{prop: p, raw: "1.0", err: true},
		{prop: p, raw: "1,000", err: true},
		{prop: p, raw: "1 000", err: true},
		{prop: p, raw: "1_000", err: true},
		{prop: p, raw: "0x10", err: true},
		{prop: p, raw: "1e3", err: true},
		{prop: p, raw: "--1", err: true},
		{prop: p, raw: "+", err: true},
		{prop: p, raw: "abc", err: true},
	})
}

func TestConvertIntOverflowReason(t *testing.T) {
	c, err := NewConverter(&Property{Type: Int})
	require.NoError(t, err)
	_, err = c.Convert("9223372036854775808")
	assert.EqualError(t, err, `entitytype: "9223372036854775808" is not an int: out of the 64-bit range`)
}

func TestConvertDecimal(t *testing.T) {
	p := Property{Type: Decimal}
	comma := Property{Type: Decimal, Format: "comma"}
	runConvCases(t, []convCase{
		{prop: p, raw: "1.50", want: "1.5"},
		{prop: p, raw: "1.5", want: "1.5"},
		{prop: p, raw: "-0.0", want: "0"},
		{prop: p, raw: "-0", want: "0"},
		{prop: p, raw: "0", want: "0"},
		{prop: p, raw: "0.000", want: "0"},
		{prop: p, raw: "+3", want: "3"},
		{prop: p, raw: ".5", want: "0.5"},
		{prop: p, raw: "-.5", want: "-0.5"},
		{prop: p, raw: "5.", want: "5"},
		{prop: p, raw: "1e3", want: "1000"},
		{prop: p, raw: "1E+3", want: "1000"},
		{prop: p, raw: "1.5e1", want: "15"},
		{prop: p, raw: "120e-1", want: "12"},
		{prop: p, raw: "1E-3", want: "0.001"},
		{prop: p, raw: "1.23e-5", want: "0.0000123"},
		{prop: p, raw: "-12.5e-3", want: "-0.0125"},
		{prop: p, raw: "0e99", want: "0"},
		{prop: p, raw: "100", want: "100"},
		{prop: p, raw: "00012.3400", want: "12.34"},
		{prop: p, raw: "0.10", want: "0.1"},
		{prop: p, raw: " 7 ", want: "7"},
		{prop: p, raw: "12345678901234567890.123456789012345678901", want: "12345678901234567890.123456789012345678901"},
		{prop: p, raw: "0.1e1000", want: "1" + strings.Repeat("0", 999)},
		{prop: p, raw: "", want: ""},
		{prop: p, raw: "1,5", err: true},
		{prop: p, raw: "1,000.5", err: true},
		{prop: p, raw: "1.2.3", err: true},
		{prop: p, raw: "1 000", err: true},
		{prop: p, raw: ".", err: true},
		{prop: p, raw: "-", err: true},
		{prop: p, raw: "e5", err: true},
		{prop: p, raw: "1e", err: true},
		{prop: p, raw: "1e+", err: true},
		{prop: p, raw: "1e1001", err: true},
		{prop: p, raw: "NaN", err: true},
		{prop: p, raw: "Inf", err: true},
		{prop: p, raw: "--1", err: true},
		{prop: p, raw: "0x1p3", err: true},
		{prop: comma, raw: "1,5", want: "1.5"},
		{prop: comma, raw: "-0,50", want: "-0.5"},
		{prop: comma, raw: "1234", want: "1234"},
		{prop: comma, raw: ",25e2", want: "25"},
		{prop: comma, raw: "1.5", err: true},
		{prop: comma, raw: "1.234,5", err: true},
	})
}

func TestConvertBool(t *testing.T) {
	p := Property{Type: Bool}
	fr := Property{Type: Bool, TrueValues: []string{"Oui", "Vrai"}, FalseValues: []string{"Non"}}
	sap := Property{Type: Bool, TrueValues: []string{"X"}}
	cases := []convCase{{prop: p, raw: "", want: ""}, {prop: p, raw: " ", want: ""}}
	for _, s := range []string{"true", "TRUE", "True", "1", "yes", "Yes", "y", "Y", "t", "T", "on", "ON", " true "} {
		cases = append(cases, convCase{prop: p, raw: s, want: "true"})
	}
	for _, s := range []string{"false", "FALSE", "0", "no", "NO", "n", "N", "f", "F", "off", "Off"} {
		cases = append(cases, convCase{prop: p, raw: s, want: "false"})
	}
	for _, s := range []string{"maybe", "2", "-1", "yess", "ja", "00", "tru"} {
		cases = append(cases, convCase{prop: p, raw: s, err: true})
	}
	cases = append(cases,
		convCase{prop: fr, raw: "oui", want: "true"},
		convCase{prop: fr, raw: "VRAI", want: "true"},
		convCase{prop: fr, raw: "Non", want: "false"},
		convCase{prop: fr, raw: "true", err: true},
		convCase{prop: fr, raw: "1", err: true},
		convCase{prop: sap, raw: "x", want: "true"},
		convCase{prop: sap, raw: "false", err: true},
	)
	runConvCases(t, cases)
}

func TestBoolSpellingsEqual(t *testing.T) {
	c, err := NewConverter(&Property{Type: Bool})
	require.NoError(t, err)
	var got []string
	for _, raw := range []string{"1", "true", "Y"} {
		v, err := c.Convert(raw)
		require.NoError(t, err)
		got = append(got, v)
	}
	assert.Equal(t, []string{"true", "true", "true"}, got)
}

func TestConvertGUID(t *testing.T) {
	p := Property{Type: GUID}
	const want = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
	runConvCases(t, []convCase{
		{prop: p, raw: want, want: want},
		{prop: p, raw: "6F9619FF-8B86-D011-B42D-00C04FC964FF", want: want},
		{prop: p, raw: "6f9619FF-8b86-D011-b42d-00C04fc964FF", want: want},
		{prop: p, raw: "{6F9619FF-8B86-D011-B42D-00C04FC964FF}", want: want},
		{prop: p, raw: "(6f9619ff-8b86-d011-b42d-00c04fc964ff)", want: want},
		{prop: p, raw: "6F9619FF8B86D011B42D00C04FC964FF", want: want},
		{prop: p, raw: "{6f9619ff8b86d011b42d00c04fc964ff}", want: want},
		{prop: p, raw: "urn:uuid:6f9619ff-8b86-d011-b42d-00c04fc964ff", want: want},
		{prop: p, raw: "URN:UUID:6F9619FF-8B86-D011-B42D-00C04FC964FF", want: want},
		{prop: p, raw: " " + want + " ", want: want},
		{prop: p, raw: "", want: ""},
		{prop: p, raw: "6f9619ff-8b86-d011-b42d-00c04fc964f", err: true},
		{prop: p, raw: "6f9619ff-8b86-d011-b42d-00c04fc964fff", err: true},
		{prop: p, raw: "6f9619ff8-b86-d011-b42d-00c04fc964ff", err: true},
		{prop: p, raw: "6f9619ff-8b86-d011-b42d-00c04fc964fg", err: true},
		{prop: p, raw: "{6f9619ff-8b86-d011-b42d-00c04fc964ff", err: true},
		{prop: p, raw: "{6f9619ff-8b86-d011-b42d-00c04fc964ff)", err: true},
		{prop: p, raw: "6f9619ff-8b86-d011-b42d00c04fc964ff", err: true},
		{prop: p, raw: "not a guid", err: true},
	})
}

func TestConvertBinary(t *testing.T) {
	p := Property{Type: Binary}
	hex := Property{Type: Binary, Format: "hex"}
	runConvCases(t, []convCase{
		{prop: p, raw: "AQID", want: "AQID"},
		{prop: p, raw: "AQI=", want: "AQI="},
		{prop: p, raw: "AQI", want: "AQI="},
		{prop: p, raw: "AQ==", want: "AQ=="},
		{prop: p, raw: "AQ", want: "AQ=="},
		{prop: p, raw: "+/8=", want: "+/8="},
		{prop: p, raw: "+/8", want: "+/8="},
		{prop: p, raw: "-_8", want: "+/8="},
		{prop: p, raw: "-_8=", want: "+/8="},
		{prop: p, raw: " AQID ", want: "AQID"},
		{prop: p, raw: "", want: ""},
		{prop: p, raw: "-/8=", err: true},
		{prop: p, raw: "AR==", err: true}, // non-zero padding bits: not canonical
		{prop: p, raw: "A", err: true},
		{prop: p, raw: "AQI==", err: true},
		{prop: p, raw: "!!!!", err: true},
		{prop: p, raw: "AQ ID", err: true},
		{prop: hex, raw: "0102ff", want: "AQL/"},
		{prop: hex, raw: "0x0102FF", want: "AQL/"},
		{prop: hex, raw: "01020", err: true},
		{prop: hex, raw: "zz", err: true},
	})
}

func TestConvertMultiValued(t *testing.T) {
	ints := Property{Type: Int, MultiValued: true}
	strs := Property{Type: String, MultiValued: true, Separator: ";"}
	guids := Property{Type: GUID, MultiValued: true}
	dates := Property{Type: Date, Format: "dd/MM/yyyy", MultiValued: true, Separator: ","}
	runConvCases(t, []convCase{
		{prop: ints, raw: "3|1|2|1| |", want: "1\x1f2\x1f3"},
		{prop: ints, raw: "10|9|+10", want: "10\x1f9"}, // sorted as text
		{prop: ints, raw: "42", want: "42"},
		{prop: ints, raw: " | ", want: ""},
		{prop: ints, raw: "", want: ""},
		{prop: ints, raw: "1|x|3", err: true},
		{prop: strs, raw: " b ; a;a;;  c", want: "a\x1fb\x1fc"},
		{prop: strs, raw: "a|b", want: "a|b"},
		{prop: strs, raw: "a\x1fb;c", err: true},
		{prop: guids, raw: "6F9619FF-8B86-D011-B42D-00C04FC964FF|6f9619ff8b86d011b42d00c04fc964ff", want: "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{prop: dates, raw: "02/01/2024, 01/01/2024,2024-01-02", want: "2024-01-01\x1f2024-01-02"},
	})
}

func TestMultiValuedErrorNamesPart(t *testing.T) {
	c, err := NewConverter(&Property{Type: Int, MultiValued: true})
	require.NoError(t, err)
	_, err = c.Convert("1| x |3")
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "x", ve.Raw)
}

func TestValueError(t *testing.T) {
	c, err := NewConverter(&Property{Type: Date, Format: "dd/MM/yyyy"})
	require.NoError(t, err)
	_, err = c.Convert("31/02/2024")
	require.Error(t, err)
	assert.EqualError(t, err, `entitytype: "31/02/2024" is not a date in format dd/MM/yyyy: day out of range`)
	assert.True(t, errors.Is(err, ErrInvalidValue))
	var ve *ValueError
	require.True(t, errors.As(err, &ve))
	assert.Equal(t, ValueError{Kind: Date, Format: "dd/MM/yyyy", Raw: "31/02/2024", Reason: "day out of range"}, *ve)

	c, err = NewConverter(&Property{Type: Bool})
	require.NoError(t, err)
	_, err = c.Convert("maybe")
	assert.EqualError(t, err, `entitytype: "maybe" is not a bool (expected true/1/yes/y/t/on or false/0/no/n/f/off)`)

	long := strings.Repeat("é", 100)
	err = &ValueError{Kind: GUID, Raw: long}
	assert.Less(t, len(err.Error()), 120)
	assert.Contains(t, err.Error(), `..." is not a GUID`)
}

func TestNewConverterErrors(t *testing.T) {
	tests := []struct {
		prop Property
		want string // prefix of the message
	}{
		{Property{Type: Kind(42)}, "type: "},
		{Property{Type: Int, Format: "n0"}, "format: "},
		{Property{Type: String, Format: "upper"}, "format: "},
		{Property{Type: Decimal, Format: "fr"}, "format: "},
		{Property{Type: Binary, Format: "base32"}, "format: "},
		{Property{Type: Bool, Format: "yes/no"}, "format: "},
		{Property{Type: Date, Format: "YYYY-MM-DD"}, "format: "},
		{Property{Type: Date, Format: "yyyy-MM-DD"}, "format: "},
		{Property{Type: Date, Format: "yyyy-MM"}, "format: "},
		{Property{Type: Date, Format: "MM-dd"}, "format: "},
		{Property{Type: Date, Format: "yyyy-dd"}, "format: "},
		{Property{Type: Date, Format: "yyy-MM-dd"}, "format: "},
		{Property{Type: Date, Format: "yyyyMdd"}, "format: "},
		{Property{Type: Date, Format: "yyyy-MM-dd yyyy"}, "format: "},
		{Property{Type: DateTime, Format: "yyyy-MM-dd hh:mm"}, "format: "},
		{Property{Type: DateTime, Format: "yyyy-MM-dd HH:mm tt"}, "format: "},
		{Property{Type: Date, Format: "dd/MM/yyyy 'a"}, "format: "},
		{Property{Type: Date, Format: "dd/MM/yyyy\\"}, "format: "},
		{Property{Type: Date, Format: "dd/MM/yyyy Q"}, "format: "},
		{Property{Type: Date, Format: "dd/MM/yyyy HH:mm:ss .FFF"}, "format: "},
		{Property{Type: DateTime, TimeZone: "Europe/Pariss"}, "timeZone: "},
		{Property{Type: DateTime, TimeZone: "Local"}, "timeZone: "},
		{Property{Type: String, TimeZone: "UTC"}, "timeZone: "},
		{Property{Type: Bool, TrueValues: []string{"X"}, FalseValues: []string{"x"}}, "falseValues: "},
		{Property{Type: Bool, TrueValues: []string{" "}}, "trueValues: "},
		{Property{Type: Bool, TrueValues: []string{"X"}, FalseValues: []string{""}}, "falseValues: "},
		{Property{Type: String, TrueValues: []string{"X"}}, "trueValues: "},
		{Property{Type: String, FalseValues: []string{"X"}}, "falseValues: "},
		{Property{Type: String, Separator: ";"}, "separator: "},
	}
	for _, tc := range tests {
		t.Run(tc.prop.Format+tc.prop.TimeZone+tc.want, func(t *testing.T) {
			c, err := NewConverter(&tc.prop)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), "%q does not start with %q", err, tc.want)
			assert.NotContains(t, err.Error(), "entitytype:", "the caller prefixes a path")
			var pe *PropertyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, strings.TrimSuffix(tc.want, ": "), pe.Field)
		})
	}
	_, err := NewConverter(nil)
	assert.Error(t, err)
}

func TestConverterAccessors(t *testing.T) {
	c, err := NewConverter(&Property{})
	require.NoError(t, err)
	assert.Equal(t, String, c.Kind())
	assert.Equal(t, "", c.Format())

	c, err = NewConverter(&Property{Type: Date, Format: "dd/MM/yyyy"})
	require.NoError(t, err)
	assert.Equal(t, Date, c.Kind())
	assert.Equal(t, "dd/MM/yyyy", c.Format())

	c, err = NewConverter(&Property{Type: DateTime, Format: "FileTime"})
	require.NoError(t, err)
	assert.Contains(t, c.Format(), "FILETIME")
}

// TestConvertAllocs checks that String and Ref never allocate, that a value
// already canonical does not either, and that others allocate the result
// only.
func TestConvertAllocs(t *testing.T) {
	tests := []struct {
		prop   Property
		raw    string
		allocs float64
	}{
		{Property{Type: String}, "Jean Dupont", 0},
		{Property{Type: Ref}, "ORG-1", 0},
		{Property{Type: Int}, "12345", 0},
		{Property{Type: Int}, " 12345", 0},
		{Property{Type: Int}, "+12345", 1},
		{Property{Type: Decimal}, "123.45", 0},
		{Property{Type: Decimal}, "123.450", 1},
		{Property{Type: Bool}, "Y", 0},
		{Property{Type: GUID}, "6f9619ff-8b86-d011-b42d-00c04fc964ff", 0},
		{Property{Type: GUID}, "{6F9619FF-8B86-D011-B42D-00C04FC964FF}", 1},
		{Property{Type: Date}, "2024-01-02", 0},
		{Property{Type: Date, Format: "dd/MM/yyyy"}, "02/01/2024", 1},
		{Property{Type: DateTime}, "2024-01-02T15:04:05Z", 0},
		{Property{Type: DateTime, Format: "yyyy-MM-dd HH:mm:ss", TimeZone: "Europe/Paris"}, "2024-07-02 15:04:05", 1},
		{Property{Type: DateTime, Format: "ldap"}, "20240102150405.0Z", 1},
	}
	for _, tc := range tests {
		c, err := NewConverter(&tc.prop)
		require.NoError(t, err)
		got := testing.AllocsPerRun(100, func() {
			if _, err := c.Convert(tc.raw); err != nil {
				t.Fatal(err)
			}
		})
		assert.Equal(t, tc.allocs, got, "%s %q", tc.prop.Type, tc.raw)
	}
}

func TestConverterConcurrent(t *testing.T) {
	c, err := NewConverter(&Property{Type: DateTime, Format: "dd/MM/yyyy HH:mm", TimeZone: "Europe/Paris", MultiValued: true})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got, err := c.Convert("02/07/2024 12:00|01/01/2024 12:00")
				if assert.NoError(t, err) {
					assert.Equal(t, "2024-01-01T11:00:00Z\x1f2024-07-02T10:00:00Z", got)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkConvertString(b *testing.B) {
	c, err := NewConverter(&Property{Type: String})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Convert("Jean Dupont"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvertInt(b *testing.B) {
	c, err := NewConverter(&Property{Type: Int})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Convert("+1234567"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvertDecimal(b *testing.B) {
	c, err := NewConverter(&Property{Type: Decimal, Format: "comma"})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Convert("1234,50"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvertGUID(b *testing.B) {
	c, err := NewConverter(&Property{Type: GUID})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Convert("{6F9619FF-8B86-D011-B42D-00C04FC964FF}"); err != nil {
			b.Fatal(err)
		}
	}
}
