package entitytype

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func date(format string) Property { return Property{Type: Date, Format: format} }
func dateTime(format, zone string) Property {
	return Property{Type: DateTime, Format: format, TimeZone: zone}
}

func TestConvertDatePatterns(t *testing.T) {
	runConvCases(t, []convCase{
		{prop: date(""), raw: "2024-01-02", want: "2024-01-02"},
		{prop: date("yyyy-MM-dd"), raw: "2024-01-02", want: "2024-01-02"},
		{prop: date("dd/MM/yyyy"), raw: "02/01/2024", want: "2024-01-02"},
		{prop: date("MM/dd/yyyy"), raw: "01/02/2024", want: "2024-01-02"},
		{prop: date("d/M/yyyy"), raw: "2/1/2024", want: "2024-01-02"},
		{prop: date("d/M/yyyy"), raw: "02/01/2024", want: "2024-01-02"},
		{prop: date("d/M/yyyy"), raw: "12/11/2024", want: "2024-11-12"},
		{prop: date("yyyyMMdd"), raw: "20240102", want: "2024-01-02"},
		{prop: date("dd.MM.yyyy"), raw: "02.01.2024", want: "2024-01-02"},
		{prop: date("dd MMM yyyy"), raw: "02 Jan 2024", want: "2024-01-02"},
		{prop: date("dd-MMM-yyyy"), raw: "02-SEP-2024", want: "2024-09-02"},
		{prop: date("MMMM d, yyyy"), raw: "january 2, 2024", want: "2024-01-02"},
		{prop: date("dddd d MMMM yyyy"), raw: "Tuesday 2 January 2024", want: "2024-01-02"},
		{prop: date("ddd, dd MMM yyyy HH:mm:ss zzz"), raw: "Tue, 02 Jan 2024 23:04:05 -0500", want: "2024-01-02"},
		{prop: date("EEE dd/MM/yyyy"), raw: "tue 02/01/2024", want: "2024-01-02"},
		{prop: date("yyyy'年'MM'月'dd'日'"), raw: "2024年01月02日", want: "2024-01-02"},
		{prop: date("'le' dd/MM/yyyy"), raw: "le 02/01/2024", want: "2024-01-02"},
		{prop: date(`\l\e dd/MM/yyyy`), raw: "le 02/01/2024", want: "2024-01-02"},
		{prop: date("dd/MM/yyyy HH:mm"), raw: "02/01/2024 23:59", want: "2024-01-02"},
		{prop: date("yyyyMMddHHmmss"), raw: "20240102235959", want: "2024-01-02"},

		// Two-digit years: 00-49 → 20xx, 50-99 → 19xx.
		{prop: date("dd/MM/yy"), raw: "02/01/24", want: "2024-01-02"},
		{prop: date("dd/MM/yy"), raw: "01/01/00", want: "2000-01-01"},
		{prop: date("dd/MM/yy"), raw: "31/12/49", want: "2049-12-31"},
		{prop: date("dd/MM/yy"), raw: "01/01/50", want: "1950-01-01"},
		{prop: date("dd/MM/yy"), raw: "31/12/99", want: "1999-12-31"},
		{prop: date("dd/MM/yy"), raw: "29/02/00", want: "2000-02-29"},
		{prop: date("dd/MM/yy"), raw: "02/01/2024", err: true},

		// The calendar.
		{prop: date("dd/MM/yyyy"), raw: "31/02/2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "30/02/2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "29/02/2023", err: true},
		{prop: date("dd/MM/yyyy"), raw: "29/02/2024", want: "2024-02-29"},
		{prop: date("dd/MM/yyyy"), raw: "29/02/2000", want: "2000-02-29"},
		{prop: date("dd/MM/yyyy"), raw: "29/02/1900", err: true},
		{prop: date("dd/MM/yyyy"), raw: "31/04/2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "31/12/2024", want: "2024-12-31"},
		{prop: date("dd/MM/yyyy"), raw: "00/01/2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "01/13/2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "01/00/2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "01/01/0000", want: "0000-01-01"},
		{prop: date("dd/MM/yyyy"), raw: "31/12/9999", want: "9999-12-31"},
		{prop: date("dd/MM/yyyy HH:mm"), raw: "02/01/2024 24:00", err: true},
		{prop: date("dd/MM/yyyy HH:mm"), raw: "02/01/2024 23:60", err: true},

		// Strictness.
		{prop: date("dd/MM/yyyy"), raw: "2/1/2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "02-01-2024", err: true},
		{prop: date("dd/MM/yyyy"), raw: "02/01/2024 00:00", err: true},
		{prop: date("dd/MM/yyyy"), raw: "02/01/24", err: true},
		{prop: date("dd/MM/yyyy"), raw: "02/01/202", err: true},
		{prop: date("dd/MM/yyyy"), raw: "02/01/20245", err: true},
		{prop: date("yyyyMMdd"), raw: "2024012", err: true},
		{prop: date("d/M/yyyy"), raw: "123/1/2024", err: true},
		{prop: date("dd MMM yyyy"), raw: "02 Jnv 2024", err: true},
		{prop: date("ddd, dd MMM yyyy"), raw: "Mon, 02 Jan 2024", err: true}, // a Tuesday
		{prop: date(""), raw: "02/01/2024", err: true},
		{prop: date(""), raw: "2024-1-2", err: true},
		{prop: date(""), raw: "20240102", err: true},
		{prop: date(""), raw: "2024-01-02junk", err: true},
		{prop: date(""), raw: "-2024-01-02", err: true},

		// ISO text is accepted whatever the format (spreadsheet cells).
		{prop: date("dd/MM/yyyy"), raw: "2024-01-02", want: "2024-01-02"},
		{prop: date("dd/MM/yyyy"), raw: "2024-01-02T00:00:00", want: "2024-01-02"},
		{prop: date("yyyyMMdd"), raw: "2024-01-02", want: "2024-01-02"},
		{prop: date("excel"), raw: "2024-01-02", want: "2024-01-02"},
		{prop: date("yyyy-MM-dd HH:mm"), raw: "2024-01-02", want: "2024-01-02"},
		{prop: date("dd/MM/yyyy"), raw: "2024-02-30", err: true},
		// ... but not when the pattern itself starts with yyyy- in another order.
		{prop: date("yyyy-dd-MM"), raw: "2024-13-01", want: "2024-01-13"},
		{prop: date("yyyy-dd-MM"), raw: "2024-01-13", err: true},

		// ISO with a time: the date as written.
		{prop: date(""), raw: "2024-01-02T23:30:00-05:00", want: "2024-01-02"},
		{prop: date(""), raw: "2024-01-02 10:00", want: "2024-01-02"},
		{prop: date(""), raw: "2024-01-02T25:00", err: true},
	})
}

func TestDateFormatsEqual(t *testing.T) {
	a, err := NewConverter(&Property{Type: Date, Format: "dd/MM/yyyy"})
	require.NoError(t, err)
	b, err := NewConverter(&Property{Type: Date, Format: "yyyy-MM-dd"})
	require.NoError(t, err)
	va, err := a.Convert("02/01/2024")
	require.NoError(t, err)
	vb, err := b.Convert("2024-01-02")
	require.NoError(t, err)
	assert.Equal(t, vb, va)
	assert.Equal(t, "2024-01-02", va)
}

func TestConvertDateTime(t *testing.T) {
	const paris = "Europe/Paris"
	runConvCases(t, []convCase{
		// ISO 8601, the default.
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05Z", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-02t15:04:05z", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-02 15:04:05", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04", want: "2024-01-02T15:04:00Z"},
		{prop: dateTime("", ""), raw: "2024-01-02", want: "2024-01-02T00:00:00Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05.120Z", want: "2024-01-02T15:04:05.12Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05.000Z", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05,5Z", want: "2024-01-02T15:04:05.5Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05.123456789Z", want: "2024-01-02T15:04:05.123456789Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05+01:00", want: "2024-01-02T14:04:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05-0130", want: "2024-01-02T16:34:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05+05", want: "2024-01-02T10:04:05Z"},
		{prop: dateTime("", ""), raw: "2024-01-01T00:30:00+01:00", want: "2023-12-31T23:30:00Z"},
		{prop: dateTime("", ""), raw: "2024-12-31T23:30:00-01:00", want: "2025-01-01T00:30:00Z"},
		{prop: dateTime("", ""), raw: "2024-02-29T12:00:00Z", want: "2024-02-29T12:00:00Z"},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05.1234567890Z", err: true},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05.Z", err: true},
		{prop: dateTime("", ""), raw: "2024-01-02T24:00:00Z", err: true},
		{prop: dateTime("", ""), raw: "2024-01-02T23:59:60Z", err: true},
		{prop: dateTime("", ""), raw: "2024-01-02T15", err: true},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05+24:00", err: true},
		{prop: dateTime("", ""), raw: "2024-01-02T15:04:05 +01:00", err: true},
		{prop: dateTime("", ""), raw: "2023-02-29T12:00:00Z", err: true},
		{prop: dateTime("", ""), raw: "0000-01-01T00:30:00+01:00", err: true}, // year -1
		{prop: dateTime("", ""), raw: "9999-12-31T23:30:00-01:00", err: true}, // year 10000

		// Patterns.
		{prop: dateTime("yyyyMMddHHmmss", ""), raw: "20240102150405", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm:ss", ""), raw: "2024-01-02 15:04:05", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("dd/MM/yyyy HH:mm", ""), raw: "02/01/2024 15:04", want: "2024-01-02T15:04:00Z"},
		{prop: dateTime("d/M/yyyy H:m:s", ""), raw: "2/1/2024 5:4:3", want: "2024-01-02T05:04:03Z"},
		{prop: dateTime("yyyy-MM-ddTHH:mm:ss.fffK", ""), raw: "2024-01-02T15:04:05.123+01:00", want: "2024-01-02T14:04:05.123Z"},
		{prop: dateTime("yyyy-MM-ddTHH:mm:ss.fffK", ""), raw: "2024-01-02T15:04:05.123Z", want: "2024-01-02T15:04:05.123Z"},
		{prop: dateTime("yyyy-MM-ddTHH:mm:ss.fffK", ""), raw: "2024-01-02T15:04:05.123", want: "2024-01-02T15:04:05.123Z"},
		{prop: dateTime("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", ""), raw: "2024-01-02T15:04:05.100-02:00", want: "2024-01-02T17:04:05.1Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm:ss Z", ""), raw: "2024-01-02 15:04:05 +0100", want: "2024-01-02T14:04:05Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm:ss Z", ""), raw: "2024-01-02 15:04:05", err: true},
		{prop: dateTime("yyyy-MM-dd HH:mm:ss.fff", ""), raw: "2024-01-02 15:04:05.12", err: true},
		{prop: dateTime("yyyy-MM-dd HH:mm:ss.fff", ""), raw: "2024-01-02 15:04:05.1234", err: true},
		{prop: dateTime("dd/MM/yyyy HH:mm:ss.FFF", ""), raw: "02/01/2024 15:04:05", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("dd/MM/yyyy HH:mm:ss.FFF", ""), raw: "02/01/2024 15:04:05.5", want: "2024-01-02T15:04:05.5Z"},
		{prop: dateTime("dd/MM/yyyy HH:mm:ss.FFF", ""), raw: "02/01/2024 15:04:05.123", want: "2024-01-02T15:04:05.123Z"},
		{prop: dateTime("dd/MM/yyyy HH:mm:ss.FFF", ""), raw: "02/01/2024 15:04:05.1234", err: true},
		{prop: dateTime("dd/MM/yyyy HH:mm:ss.FFF", ""), raw: "02/01/2024 15:04:05 ", want: "2024-01-02T15:04:05Z"},

		// 12-hour clock.
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 12:30 AM", want: "2024-01-02T00:30:00Z"},
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 12:30 PM", want: "2024-01-02T12:30:00Z"},
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 01:30 pm", want: "2024-01-02T13:30:00Z"},
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 11:59 am", want: "2024-01-02T11:59:00Z"},
		{prop: dateTime("MM/dd/yyyy h:mm a", ""), raw: "01/02/2024 1:30 PM", want: "2024-01-02T13:30:00Z"},
		{prop: dateTime("MM/dd/yyyy h:mmt", ""), raw: "01/02/2024 1:30P", want: "2024-01-02T13:30:00Z"},
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 13:30 PM", err: true},
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 00:30 AM", err: true},
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 10:30 XM", err: true},
		{prop: dateTime("MM/dd/yyyy hh:mm tt", ""), raw: "01/02/2024 10:30", err: true},

		// Time zones: the zone reads values without an offset, across DST.
		{prop: dateTime("", paris), raw: "2024-01-15T12:00:00", want: "2024-01-15T11:00:00Z"},
		{prop: dateTime("", paris), raw: "2024-07-01T12:00:00", want: "2024-07-01T10:00:00Z"},
		{prop: dateTime("", paris), raw: "2024-07-01T12:00:00Z", want: "2024-07-01T12:00:00Z"},
		{prop: dateTime("", paris), raw: "2024-07-01T12:00:00-04:00", want: "2024-07-01T16:00:00Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-03-31 01:59", want: "2024-03-31T00:59:00Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-03-31 03:00", want: "2024-03-31T01:00:00Z"},
		// In the spring gap, moved forward: 02:30 is read as 03:30 CEST.
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-03-31 02:30", want: "2024-03-31T01:30:00Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-10-27 01:59", want: "2024-10-26T23:59:00Z"},
		// The repeated autumn hour is its first occurrence (CEST, +02:00).
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-10-27 02:00", want: "2024-10-27T00:00:00Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-10-27 02:30", want: "2024-10-27T00:30:00Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-10-27 02:59", want: "2024-10-27T00:59:00Z"},
		{prop: dateTime("yyyy-MM-dd HH:mm", paris), raw: "2024-10-27 03:00", want: "2024-10-27T02:00:00Z"},
		{prop: dateTime("dd/MM/yyyy", paris), raw: "02/01/2024", want: "2024-01-01T23:00:00Z"},
		{prop: dateTime("", "America/New_York"), raw: "2024-01-02 10:00:00", want: "2024-01-02T15:00:00Z"},
		{prop: dateTime("", "America/New_York"), raw: "2024-03-10 01:59:59", want: "2024-03-10T06:59:59Z"},
		{prop: dateTime("", "America/New_York"), raw: "2024-03-10 02:30:00", want: "2024-03-10T07:30:00Z"}, // gap: 03:30 EDT
		{prop: dateTime("", "America/New_York"), raw: "2024-03-10 03:00:00", want: "2024-03-10T07:00:00Z"},
		{prop: dateTime("", "America/New_York"), raw: "2024-11-03 00:59:59", want: "2024-11-03T04:59:59Z"},
		{prop: dateTime("", "America/New_York"), raw: "2024-11-03 01:30:00", want: "2024-11-03T05:30:00Z"}, // first: EDT
		{prop: dateTime("", "America/New_York"), raw: "2024-11-03 02:00:00", want: "2024-11-03T07:00:00Z"},
		{prop: dateTime("", "Australia/Lord_Howe"), raw: "2024-04-07 01:45:00", want: "2024-04-06T14:45:00Z"}, // 30-minute DST, first: +11:00
		{prop: dateTime("", "Australia/Lord_Howe"), raw: "2024-10-06 02:15:00", want: "2024-10-05T15:45:00Z"}, // gap: 02:45 +11:00
		{prop: dateTime("", "UTC"), raw: "2024-01-02 10:00:00", want: "2024-01-02T10:00:00Z"},
	})
}

func TestConvertEncodings(t *testing.T) {
	const paris = "Europe/Paris"
	fileTimeEpoch := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	fileTime := func(ticks int64) string { // computed without the code under test
		t := fileTimeEpoch.Add(time.Duration(ticks/2) * 100).Add(time.Duration(ticks-ticks/2) * 100)
		return t.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	excel := func(days int) string {
		return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days).Format(time.DateOnly)
	}
	unix := func(sec, nsec int64) string {
		return time.Unix(sec, nsec).UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	require.Equal(t, "2024-01-01T00:00:00Z", fileTime(133485408000000000))
	runConvCases(t, []convCase{
		// Windows FILETIME.
		{prop: dateTime("filetime", ""), raw: "133485408000000000", want: fileTime(133485408000000000)},
		{prop: dateTime("filetime", ""), raw: "133485408001234567", want: fileTime(133485408001234567)},
		{prop: dateTime("filetime", ""), raw: "1", want: "1601-01-01T00:00:00.0000001Z"},
		{prop: dateTime("filetime", ""), raw: "0", want: ""},
		{prop: dateTime("filetime", ""), raw: "9223372036854775807", want: ""},
		{prop: dateTime("filetime", ""), raw: "9223372036854775806", err: true}, // year 30828
		{prop: dateTime("filetime", ""), raw: "9223372036854775808", err: true},
		{prop: dateTime("filetime", ""), raw: "-1", err: true},
		{prop: dateTime("filetime", ""), raw: "+1", err: true},
		{prop: dateTime("filetime", ""), raw: "1.5", err: true},
		{prop: dateTime("filetime", ""), raw: "2024-01-02T10:00:00Z", want: "2024-01-02T10:00:00Z"},
		{prop: date("filetime"), raw: "133485408000000000", want: "2024-01-01"},
		{prop: Property{Type: Date, Format: "filetime", TimeZone: "America/New_York"}, raw: "133485408000000000", want: "2023-12-31"},
		{prop: date("filetime"), raw: "0", want: ""},

		// LDAP generalized time.
		{prop: dateTime("ldap", ""), raw: "20240102150405.0Z", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("ldap", ""), raw: "20240102150405Z", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("ldap", ""), raw: "20240102150405.123Z", want: "2024-01-02T15:04:05.123Z"},
		{prop: dateTime("ldap", ""), raw: "20240102150405,5Z", want: "2024-01-02T15:04:05.5Z"},
		{prop: dateTime("ldap", ""), raw: "20240102150405-0500", want: "2024-01-02T20:04:05Z"},
		{prop: dateTime("ldap", ""), raw: "20240102150405.5+0130", want: "2024-01-02T13:34:05.5Z"},
		{prop: dateTime("ldap", ""), raw: "20240102150405+01", want: "2024-01-02T14:04:05Z"},
		{prop: dateTime("ldap", ""), raw: "202401021504Z", want: "2024-01-02T15:04:00Z"},
		{prop: dateTime("ldap", ""), raw: "2024010215Z", want: "2024-01-02T15:00:00Z"},
		{prop: dateTime("ldap", ""), raw: "20240102150405", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("ldap", paris), raw: "20240102150405", want: "2024-01-02T14:04:05Z"},
		{prop: dateTime("ldap", paris), raw: "20240102150405Z", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("ldap", ""), raw: "20240231150405Z", err: true},
		{prop: dateTime("ldap", ""), raw: "20240102250405Z", err: true},
		{prop: dateTime("ldap", ""), raw: "202401021Z", err: true},
		{prop: dateTime("ldap", ""), raw: "20240102150405.Z", err: true},
		{prop: dateTime("ldap", ""), raw: "202401021504.5Z", err: true},
		{prop: dateTime("ldap", ""), raw: "20240102150405Zjunk", err: true},
		{prop: dateTime("LDAP", ""), raw: "2024-01-02T15:04:05", want: "2024-01-02T15:04:05Z"},
		{prop: dateTime("LDAP", ""), raw: "2024-01-02 15:04:05", err: true},
		{prop: date("ldap"), raw: "20240102233000Z", want: "2024-01-02"},
		{prop: Property{Type: Date, Format: "ldap", TimeZone: paris}, raw: "20240102233000Z", want: "2024-01-03"},
		{prop: Property{Type: Date, Format: "ldap", TimeZone: paris}, raw: "20240102233000", want: "2024-01-02"},

		// Unix time.
		{prop: dateTime("unix", ""), raw: "1704067200", want: unix(1704067200, 0)},
		{prop: dateTime("unix", ""), raw: "0", want: "1970-01-01T00:00:00Z"},
		{prop: dateTime("unix", ""), raw: "-1", want: unix(-1, 0)},
		{prop: dateTime("unix", ""), raw: "+1", want: unix(1, 0)},
		{prop: dateTime("unix", ""), raw: "1704067200.5", want: unix(1704067200, 5e8)},
		{prop: dateTime("unix", ""), raw: "-0.5", want: unix(0, -5e8)},
		{prop: dateTime("unix", ""), raw: "-1.25", want: unix(-1, -25e7)},
		{prop: dateTime("unix", ""), raw: "253402300799", want: "9999-12-31T23:59:59Z"},
		{prop: dateTime("unix", ""), raw: "253402300800", err: true},
		{prop: dateTime("unix", ""), raw: "-62167219201", err: true},
		{prop: dateTime("unix", ""), raw: "9223372036854775807", err: true},
		{prop: dateTime("unix", ""), raw: "1e9", err: true},
		{prop: dateTime("unix", ""), raw: "1.", want: unix(1, 0)},
		{prop: dateTime("unix", ""), raw: "1.1234567891", err: true},
		{prop: dateTime("unix", ""), raw: "--1", err: true},
		{prop: dateTime("unixms", ""), raw: "1704067200123", want: unix(1704067200, 123e6)},
		{prop: dateTime("unixms", ""), raw: "-1", want: unix(0, -1e6)},
		{prop: dateTime("unixms", ""), raw: "1.5", err: true},
		{prop: date("unix"), raw: "1704063600", want: "2023-12-31"},
		{prop: Property{Type: Date, Format: "unix", TimeZone: paris}, raw: "1704063600", want: "2024-01-01"},
		{prop: Property{Type: Date, Format: "unix", TimeZone: paris}, raw: "9223372036854775807", err: true},
		{prop: Property{Type: Date, Format: "unix", TimeZone: paris}, raw: "-9223372036854775808", err: true},
		{prop: Property{Type: Date, Format: "unix", TimeZone: "Pacific/Kiritimati"}, raw: "253402300799", err: true}, // 10000-01-01 there
		{prop: Property{Type: Date, Format: "unix", TimeZone: "Pacific/Kiritimati"}, raw: "253402250000", want: "9999-12-31"},

		// Excel serial dates (1900 date system).
		{prop: date("excel"), raw: "45292", want: excel(45292)},
		{prop: date("excel"), raw: "45292", want: "2024-01-01"},
		{prop: date("excel"), raw: "45292.75", want: "2024-01-01"},
		{prop: date("excel"), raw: "61", want: "1900-03-01"},
		{prop: date("excel"), raw: "59", want: "1900-02-28"},
		{prop: date("excel"), raw: "1", want: "1900-01-01"},
		{prop: date("excel"), raw: "2958465", want: "9999-12-31"},
		{prop: date("excel"), raw: "2958466", err: true},
		{prop: date("excel"), raw: "60", err: true},
		{prop: date("excel"), raw: "0", err: true},
		{prop: date("excel"), raw: "0.5", err: true},
		{prop: date("excel"), raw: "-1", err: true},
		{prop: date("excel"), raw: "4.5e4", err: true},
		{prop: dateTime("excel", ""), raw: "45292.5", want: "2024-01-01T12:00:00Z"},
		{prop: dateTime("excel", ""), raw: "45292,25", want: "2024-01-01T06:00:00Z"},
		{prop: dateTime("excel", ""), raw: "45292.000011574", want: "2024-01-01T00:00:01Z"},
		{prop: dateTime("excel", ""), raw: "45292.99999999", want: "2024-01-01T23:59:59.999Z"},
		{prop: dateTime("excel", ""), raw: "45292.999999999", want: "2024-01-02T00:00:00Z"},
		{prop: dateTime("excel", paris), raw: "45292.5", want: "2024-01-01T11:00:00Z"},

		// RFC 3339: an instant, also for a Date.
		{prop: dateTime("rfc3339", ""), raw: "2024-01-02T15:04:05+01:00", want: "2024-01-02T14:04:05Z"},
		{prop: dateTime("rfc3339", ""), raw: "2024-01-02T15:04:05.5Z", want: "2024-01-02T15:04:05.5Z"},
		{prop: Property{Type: Date, Format: "rfc3339", TimeZone: paris}, raw: "2024-01-02T23:30:00Z", want: "2024-01-03"},
		{prop: Property{Type: Date, Format: "", TimeZone: paris}, raw: "2024-01-02T23:30:00Z", want: "2024-01-02"},
		{prop: dateTime("rfc3339", ""), raw: "02/01/2024", err: true},
	})
}

// TestPatternMatchesTimePackage compares random instants written with a
// pattern and read in a zone against the time package.
func TestPatternMatchesTimePackage(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	tests := []struct{ pattern, layout string }{
		{"dd/MM/yyyy HH:mm:ss", "02/01/2006 15:04:05"},
		{"yyyyMMddHHmmss", "20060102150405"},
		{"M/d/yy h:mm:ss tt", "1/2/06 3:04:05 PM"},
		{"ddd, dd MMM yyyy HH:mm:ss.fff", "Mon, 02 Jan 2006 15:04:05.000"},
		{"yyyy-MM-ddTHH:mm:ss.FFFFFFFFFzzz", "2006-01-02T15:04:05.999999999-07:00"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		c, err := NewConverter(&Property{Type: DateTime, Format: tc.pattern, TimeZone: "Europe/Paris"})
		require.NoError(t, err)
		d, err := NewConverter(&Property{Type: Date, Format: tc.pattern, TimeZone: "Europe/Paris"})
		require.NoError(t, err)
		// Instants around the 2024 transitions, then random ones.
		var instants []time.Time
		for _, tr := range []time.Time{time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC), time.Date(2024, 10, 27, 1, 0, 0, 0, time.UTC)} {
			for d := -2 * time.Hour; d <= 2*time.Hour; d += 10 * time.Minute {
				instants = append(instants, tr.Add(d))
			}
		}
		for range 2000 {
			// 1970 to 2048, where two-digit years read the same here
			// (pivot 50) and in the time package (pivot 69).
			sec := rng.Int64N(79*365*86400) + 86400
			instants = append(instants, time.Unix(sec, rng.Int64N(1e9)))
		}
		for _, in := range instants {
			in = in.In(loc)
			raw := in.Format(tc.layout)
			want, err := time.ParseInLocation(tc.layout, raw, loc)
			require.NoError(t, err, raw)
			if earlier := want.Add(-time.Hour); earlier.In(loc).Format(tc.layout) == raw {
				want = earlier // ambiguous: the first occurrence, which time.Date may not give
			}
			got, err := c.Convert(raw)
			require.NoError(t, err, "%s %q", tc.pattern, raw)
			assert.Equal(t, want.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), got, "%s %q", tc.pattern, raw)
			gotDate, err := d.Convert(raw)
			require.NoError(t, err, "%s %q", tc.pattern, raw)
			assert.Equal(t, want.Format(time.DateOnly), gotDate, "%s %q", tc.pattern, raw)
		}
	}
}

func TestCivilDays(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	min, max := daysFromCivil(0, 1, 1), daysFromCivil(9999, 12, 31)
	require.Equal(t, int64(minDays), min)
	require.Equal(t, int64(maxDays), max)
	check := func(days int64) {
		y, m, d := civilFromDays(days)
		want := time.Unix(days*86400, 0).UTC()
		require.Equal(t, [3]int{want.Year(), int(want.Month()), want.Day()}, [3]int{y, m, d}, days)
		require.Equal(t, days, daysFromCivil(y, m, d))
	}
	for _, days := range []int64{min, max, 0, -1, 1, 11016, 59 - 25569} {
		check(days)
	}
	for range 100000 {
		check(min + rng.Int64N(max-min+1))
	}
}

func TestPatternRoundTripEveryDay(t *testing.T) {
	c, err := NewConverter(&Property{Type: Date, Format: "d/M/yyyy"})
	require.NoError(t, err)
	for day := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 2030; day = day.AddDate(0, 0, 1) {
		got, err := c.Convert(strconv.Itoa(day.Day()) + "/" + strconv.Itoa(int(day.Month())) + "/" + strconv.Itoa(day.Year()))
		require.NoError(t, err)
		require.Equal(t, day.Format(time.DateOnly), got)
	}
}

func BenchmarkConvertDate(b *testing.B) {
	c, err := NewConverter(&Property{Type: Date, Format: "dd/MM/yyyy"})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Convert("02/01/2024"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvertDateISO(b *testing.B) {
	c, err := NewConverter(&Property{Type: Date})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Convert("2024-01-02"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvertDateTime(b *testing.B) {
	for _, bc := range []struct{ name, format, zone, raw string }{
		{"pattern-UTC", "dd/MM/yyyy HH:mm:ss", "", "02/01/2024 15:04:05"},
		{"pattern-Paris", "dd/MM/yyyy HH:mm:ss", "Europe/Paris", "02/01/2024 15:04:05"},
		{"ISO-canonical", "", "", "2024-01-02T15:04:05Z"},
		{"ISO-offset", "", "", "2024-01-02T15:04:05.123+01:00"},
		{"ldap", "ldap", "", "20240102150405.0Z"},
		{"filetime", "filetime", "", "133485408000000000"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := NewConverter(&Property{Type: DateTime, Format: bc.format, TimeZone: bc.zone})
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Convert(bc.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTimeParseBaseline is what the pattern-Paris case above would
// cost with time.ParseInLocation and Format: the baseline the hand-written
// scanner is measured against.
func BenchmarkTimeParseBaseline(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Paris")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		t, err := time.ParseInLocation("02/01/2006 15:04:05", "02/01/2024 15:04:05", loc)
		if err != nil {
			b.Fatal(err)
		}
		_ = t.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
	}
}
