package threshold_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/idsync/idsync/threshold"
)

func TestParsePercent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"5", "5 %"},
		{"2.5", "2.5 %"},
		{"2.5%", "2.5 %"},
		{" 2.5 % ", "2.5 %"},
		{"0.1", "0.1 %"},
		{"33.333", "33.333 %"},
		{".5", "0.5 %"},
		{"5.", "5 %"},
		{"007.250000", "7.25 %"},
		{"100", "100 %"},
		{"0.000001", "0.000001 %"},
		{"120", "120 %"},
		{"-1.5", "-1.5 %"},
		{"0", "0 %"},
		{"off", "off"},
		{"OFF", "off"},
	} {
		p, err := threshold.ParsePercent(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, p.String(), tc.in)
		back, err := threshold.ParsePercent(p.String())
		require.NoError(t, err, tc.in)
		assert.Equal(t, p, back, "String of %q does not parse back", tc.in)
	}
}

func TestParsePercentErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "invalid percentage"},
		{".", "invalid percentage"},
		{"%", "invalid percentage"},
		{"abc", "invalid percentage"},
		{"1e2", "invalid percentage"},
		{"+5", "invalid percentage"},
		{"5%%", "invalid percentage"},
		{"--1", "invalid percentage"},
		{"1,5", "invalid percentage"},
		{"0x10", "invalid percentage"},
		{"5 5", "invalid percentage"},
		{"2.1234567", "more than 6 decimals"},
		{"0.0000001", "more than 6 decimals"},
		{"9223372036855", "out of range"},
		{"99999999999999999999", "out of range"},
	} {
		_, err := threshold.ParsePercent(tc.in)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want, tc.in)
		assert.True(t, strings.HasPrefix(err.Error(), "threshold: "), err.Error())
	}
	assert.Panics(t, func() { threshold.MustParsePercent("2.1234567") })
}

func TestPercentExact(t *testing.T) {
	assert.Equal(t, threshold.Pct(5), threshold.MustParsePercent("5"))
	assert.Equal(t, threshold.MustParsePercent("0.1"), threshold.MustParsePercent("0.100000"))
	assert.NotEqual(t, threshold.MustParsePercent("2.5"), threshold.MustParsePercent("2.500001"))
	assert.True(t, threshold.Pct(0).IsZero())
	assert.True(t, threshold.MustParsePercent("0.000").IsZero())
	assert.False(t, threshold.MustParsePercent("0.000001").IsZero())
	assert.True(t, threshold.PercentOff().IsOff())
	assert.False(t, threshold.PercentOff().IsZero())
	assert.False(t, threshold.Pct(5).IsOff())
}

func TestCountText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want threshold.Count
	}{
		{"100", threshold.Max(100)},
		{"0", threshold.Count{}},
		{"-5", threshold.Max(-5)},
		{"off", threshold.CountOff()},
		{"Off", threshold.CountOff()},
		{"9223372036854775807", threshold.Max(9223372036854775807)},
	} {
		var c threshold.Count
		require.NoError(t, c.UnmarshalText([]byte(tc.in)), tc.in)
		assert.Equal(t, tc.want, c, tc.in)
		text, err := c.MarshalText()
		require.NoError(t, err)
		var back threshold.Count
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, c, back, tc.in)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "invalid count"},
		{"1.5", "invalid count"},
		{"abc", "invalid count"},
		{"1e3", "invalid count"},
		{"99999999999999999999", "out of range"},
	} {
		var c threshold.Count
		err := c.UnmarshalText([]byte(tc.in))
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want, tc.in)
	}
	assert.True(t, threshold.Max(0).IsZero())
	assert.False(t, threshold.CountOff().IsZero())
	assert.True(t, threshold.CountOff().IsOff())
	assert.Equal(t, "100", threshold.Max(100).String())
	assert.Equal(t, "off", threshold.CountOff().String())
}

func TestLimitsJSON(t *testing.T) {
	l := threshold.Limits{
		MaxDeleted:         threshold.Max(100),
		MaxPercentUpdated:  threshold.MustParsePercent("2.5"),
		MaxLinkInserted:    threshold.CountOff(),
		MaxPercentRejected: threshold.PercentOff(),
	}
	data, err := json.Marshal(l)
	require.NoError(t, err)
	assert.JSONEq(t, `{"maxDeleted":100,"maxPercentUpdated":2.5,"maxLinkInserted":"off","maxPercentRejected":"off"}`, string(data))
	var back threshold.Limits
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, l, back)

	data, err = json.Marshal(threshold.Limits{})
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(data))

	data, err = json.Marshal(threshold.DefaultLimits())
	require.NoError(t, err)
	back = threshold.Limits{}
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, threshold.DefaultLimits(), back)

	var lax threshold.Limits
	require.NoError(t, json.Unmarshal([]byte(`{"maxDeleted":"100","maxPercentDeleted":"2.5%","maxInserted":null,"maxUpdated":"OFF"}`), &lax))
	assert.Equal(t, threshold.Limits{
		MaxDeleted:        threshold.Max(100),
		MaxPercentDeleted: threshold.MustParsePercent("2.5"),
		MaxUpdated:        threshold.CountOff(),
	}, lax)

	for _, bad := range []string{`{"maxDeleted":1.5}`, `{"maxDeleted":"many"}`, `{"maxPercentDeleted":1e2}`, `{"maxPercentDeleted":true}`} {
		assert.Error(t, json.Unmarshal([]byte(bad), &lax), bad)
	}
}

type config struct {
	Thresholds threshold.Limits `yaml:"thresholds,omitempty"`
}

func decodeYAML(t *testing.T, text string, v any) error {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	return dec.Decode(v)
}

func TestLimitsYAML(t *testing.T) {
	var c config
	require.NoError(t, decodeYAML(t, `thresholds: { maxDeleted: 100, maxPercentDeleted: 5, maxLinkInserted: off, maxPercentUpdated: 2.5 }`, &c))
	assert.Equal(t, threshold.Limits{
		MaxDeleted:        threshold.Max(100),
		MaxPercentDeleted: threshold.Pct(5),
		MaxLinkInserted:   threshold.CountOff(),
		MaxPercentUpdated: threshold.MustParsePercent("2.5"),
	}, c.Thresholds)

	c = config{}
	require.NoError(t, decodeYAML(t, `
thresholds:
  maxInserted: 0
  maxUpdated: ~
  maxPercentInserted: 33.333
  maxLinkPercentDeleted: "0.5%"
  maxRejected: "off"
  maxPercentRejected: 0.000001
`, &c))
	assert.Equal(t, threshold.Limits{
		MaxPercentInserted:    threshold.MustParsePercent("33.333"),
		MaxLinkPercentDeleted: threshold.MustParsePercent("0.5"),
		MaxRejected:           threshold.CountOff(),
		MaxPercentRejected:    threshold.MustParsePercent("0.000001"),
	}, c.Thresholds)

	for _, tc := range []struct{ in, want string }{
		{`thresholds: { maxDelete: 100 }`, "maxDelete not found"},
		{`thresholds: { maxDeleted: abc }`, `invalid count "abc"`},
		{`thresholds: { maxDeleted: 1.5 }`, `invalid count "1.5"`},
		{`thresholds: { maxPercentDeleted: 2.1234567 }`, "more than 6 decimals"},
		{`thresholds: { maxPercentDeleted: 1e2 }`, "invalid percentage"},
	} {
		err := decodeYAML(t, tc.in, &config{})
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want, tc.in)
	}
}

func TestLimitsYAMLRoundTrip(t *testing.T) {
	l := threshold.Limits{
		MaxDeleted:             threshold.Max(100),
		MaxPercentInserted:     threshold.MustParsePercent("0.000001"),
		MaxPercentUpdated:      threshold.MustParsePercent("2.5"),
		MaxPercentDeleted:      threshold.Pct(5),
		MaxLinkInserted:        threshold.CountOff(),
		MaxLinkPercentInserted: threshold.PercentOff(),
		MaxLinkPercentDeleted:  threshold.MustParsePercent("33.333"),
	}
	data, err := yaml.Marshal(config{Thresholds: l})
	require.NoError(t, err)
	assert.Equal(t, `thresholds:
    maxDeleted: 100
    maxPercentInserted: "0.000001"
    maxPercentUpdated: 2.5
    maxPercentDeleted: 5
    maxLinkInserted: "off"
    maxLinkPercentInserted: "off"
    maxLinkPercentDeleted: 33.333
`, string(data))
	var back config
	require.NoError(t, decodeYAML(t, string(data), &back))
	assert.Equal(t, l, back.Thresholds)

	data, err = yaml.Marshal(config{})
	require.NoError(t, err)
	assert.Equal(t, "{}\n", string(data))

	data, err = yaml.Marshal(config{Thresholds: threshold.DefaultLimits()})
	require.NoError(t, err)
	back = config{}
	require.NoError(t, decodeYAML(t, string(data), &back))
	assert.Equal(t, threshold.DefaultLimits(), back.Thresholds)
}
