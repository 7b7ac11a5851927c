package entitytype

import (
	"errors"
	"testing"
)

// fuzzProps are the properties FuzzConvert converts with: every kind and a
// few formats.
var fuzzProps = []Property{
	{Type: String},
	{Type: Ref},
	{Type: Int},
	{Type: Decimal},
	{Type: Decimal, Format: "comma"},
	{Type: Bool},
	{Type: Bool, TrueValues: []string{"Oui", "X"}, FalseValues: []string{"Non"}},
	{Type: GUID},
	{Type: Binary},
	{Type: Binary, Format: "hex"},
	{Type: Date},
	{Type: Date, Format: "dd/MM/yyyy"},
	{Type: Date, Format: "d/M/yy"},
	{Type: Date, Format: "ddd, dd MMM yyyy HH:mm:ss zzz"},
	{Type: Date, Format: "ldap", TimeZone: "Europe/Paris"},
	{Type: Date, Format: "unix", TimeZone: "America/New_York"},
	{Type: Date, Format: "excel"},
	{Type: Date, Format: "filetime", TimeZone: "Pacific/Kiritimati"},
	{Type: DateTime},
	{Type: DateTime, TimeZone: "Europe/Paris"},
	{Type: DateTime, Format: "yyyy-MM-ddTHH:mm:ss.FFFFFFFK", TimeZone: "Asia/Kolkata"},
	{Type: DateTime, Format: "MMM d, yyyy h:mm tt", TimeZone: "America/Los_Angeles"},
	{Type: DateTime, Format: "yyyyMMddHHmmss"},
	{Type: DateTime, Format: "ldap"},
	{Type: DateTime, Format: "filetime"},
	{Type: DateTime, Format: "unix"},
	{Type: DateTime, Format: "unixms", TimeZone: "Europe/Paris"},
	{Type: DateTime, Format: "excel", TimeZone: "Australia/Lord_Howe"},
	{Type: DateTime, Format: "rfc3339"},
	{Type: String, MultiValued: true},
	{Type: Int, MultiValued: true, Separator: ";"},
	{Type: Date, Format: "dd/MM/yyyy", MultiValued: true},
	{Type: GUID, MultiValued: true, Separator: ","},
}

var fuzzSeeds = []string{
	"", " ", "0", "-0", "+1", "42", "007", "9223372036854775807", "9223372036854775808",
	"1.50", "-0.0", ".5", "1e3", "1,5", "1E-3", "true", "Y", "off", "Oui", "x",
	"6F9619FF-8B86-D011-B42D-00C04FC964FF", "{6f9619ff8b86d011b42d00c04fc964ff}", "urn:uuid:6f9619ff-8b86-d011-b42d-00c04fc964ff",
	"AQID", "-_8", "0102ff", "2024-01-02", "2024-01-02T15:04:05.5+01:00", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
	"02/01/2024", "29/02/2023", "2/1/24", "Tue, 02 Jan 2024 15:04:05 +0000", "Jan 2, 2024 1:30 PM",
	"20240102150405.0Z", "20240102150405-0500", "133485408000000000", "9223372036854775807",
	"1704067200", "-1.5", "45292.5", "60", "2024-03-31T02:30:00", "1|2|2| 3", "a;b;;a", "02/01/2024|2024-01-01",
	"\x1f", "\xff\xfe", "a\x1fb|c",
}

// FuzzConvert checks that no input makes Convert panic, that errors are
// ValueErrors, and that a canonical value is a fixed point: converting it
// again with the default format of its kind gives it back.
func FuzzConvert(f *testing.F) {
	convs := make([]*Converter, len(fuzzProps))
	for i := range fuzzProps {
		c, err := NewConverter(&fuzzProps[i])
		if err != nil {
			f.Fatal(err)
		}
		convs[i] = c
	}
	canon := map[[2]any]*Converter{} // kind, multi
	for k := String; k <= Ref; k++ {
		for _, multi := range []bool{false, true} {
			p := Property{Type: k, MultiValued: multi}
			if multi {
				p.Separator = MultiSep
			}
			c, err := NewConverter(&p)
			if err != nil {
				f.Fatal(err)
			}
			canon[[2]any{k, multi}] = c
		}
	}
	for i := range fuzzProps {
		for _, s := range fuzzSeeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		p := &fuzzProps[int(which)%len(fuzzProps)]
		c := convs[int(which)%len(convs)]
		out, err := c.Convert(raw)
		if err != nil {
			var ve *ValueError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidValue) || out != "" {
				t.Fatalf("Convert(%q) = %q, %v: want a *ValueError and no value", raw, out, err)
			}
			_ = err.Error()
			return
		}
		again, err := canon[[2]any{p.Type, p.MultiValued}].Convert(out)
		if err != nil || again != out {
			t.Fatalf("%+v: Convert(%q) = %q, which converts again to %q, %v", *p, raw, out, again, err)
		}
	})
}

// FuzzDatePattern checks that no pattern and no value make NewConverter or
// Convert panic.
func FuzzDatePattern(f *testing.F) {
	for _, s := range []struct{ pattern, raw string }{
		{"dd/MM/yyyy", "02/01/2024"},
		{"yyyy-MM-ddTHH:mm:ss.FFFK", "2024-01-02T15:04:05.1+01:00"},
		{"ddd, d MMMM yy h:m:s tt", "Tue, 2 January 24 3:4:5 PM"},
		{"'at' yyyy''MM\\dd", "at 2024'01d02"},
		{"yyyyMMddHHmmss.Fz", "20240102150405Z"},
	} {
		f.Add(s.pattern, s.raw)
	}
	f.Fuzz(func(t *testing.T, pattern, raw string) {
		for _, k := range []Kind{Date, DateTime} {
			c, err := NewConverter(&Property{Type: k, Format: pattern, TimeZone: "Europe/Paris"})
			if err != nil {
				continue
			}
			out, err := c.Convert(raw)
			if err == nil && out != "" {
				d, _ := NewConverter(&Property{Type: k})
				if again, err := d.Convert(out); err != nil || again != out {
					t.Fatalf("%q: Convert(%q) = %q, which converts again to %q, %v", pattern, raw, out, again, err)
				}
			}
		}
	})
}
