package threshold_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/threshold"
)

func errorStrings(errs []error) []string {
	var s []string
	for _, err := range errs {
		s = append(s, err.Error())
	}
	return s
}

func TestDefaultLimits(t *testing.T) {
	d := threshold.DefaultLimits()
	assert.Equal(t, threshold.Max(100), d.MaxInserted)
	assert.Equal(t, threshold.Max(100), d.MaxUpdated)
	assert.Equal(t, threshold.Max(100), d.MaxDeleted)
	assert.Equal(t, threshold.Max(1000), d.MaxLinkInserted)
	assert.Equal(t, threshold.Max(1000), d.MaxLinkDeleted)
	for _, p := range []threshold.Percent{d.MaxPercentInserted, d.MaxPercentUpdated, d.MaxPercentDeleted,
		d.MaxLinkPercentInserted, d.MaxLinkPercentDeleted, d.MaxPercentRejected} {
		assert.Equal(t, threshold.Pct(5), p)
	}
	assert.Equal(t, threshold.CountOff(), d.MaxRejected)
	assert.Empty(t, d.Validate(""))
	assert.True(t, threshold.Limits{}.IsZero())
	assert.False(t, d.IsZero())
}

func TestValidate(t *testing.T) {
	l := threshold.Limits{
		MaxInserted:        threshold.Max(5),
		MaxPercentUpdated:  threshold.MustParsePercent("-0.5"),
		MaxDeleted:         threshold.Max(-1),
		MaxPercentDeleted:  threshold.Pct(120),
		MaxLinkInserted:    threshold.CountOff(),
		MaxPercentRejected: threshold.MustParsePercent("100.000001"),
	}
	assert.Equal(t, []string{
		"connectors[0].entityTypes[2].thresholds.maxPercentUpdated: negative percentage -0.5",
		"connectors[0].entityTypes[2].thresholds.maxDeleted: negative count -1",
		"connectors[0].entityTypes[2].thresholds.maxPercentDeleted: percentage 120 over 100",
		"connectors[0].entityTypes[2].thresholds.maxPercentRejected: percentage 100.000001 over 100",
	}, errorStrings(l.Validate("connectors[0].entityTypes[2].thresholds")))
	assert.Equal(t, []string{"maxRejected: negative count -3"},
		errorStrings(threshold.Limits{MaxRejected: threshold.Max(-3)}.Validate("")))

	valid := threshold.Limits{
		MaxInserted:        threshold.Max(0),
		MaxDeleted:         threshold.Max(1),
		MaxPercentDeleted:  threshold.Pct(100),
		MaxPercentUpdated:  threshold.MustParsePercent("0.000001"),
		MaxLinkDeleted:     threshold.CountOff(),
		MaxPercentRejected: threshold.PercentOff(),
	}
	assert.Nil(t, valid.Validate("x"))
	assert.Nil(t, threshold.Limits{}.Validate("x"))
}

func TestValidateFor(t *testing.T) {
	l := threshold.Limits{
		MaxDeleted:            threshold.Max(-1),
		MaxPercentUpdated:     threshold.Pct(5),
		MaxLinkDeleted:        threshold.CountOff(),
		MaxLinkPercentDeleted: threshold.Pct(3),
		MaxRejected:           threshold.Max(10),
		MaxPercentRejected:    threshold.Pct(10),
	}
	assert.Equal(t, []string{
		"e.maxDeleted: negative count -1",
		"e.maxLinkDeleted: not a limit of an entity type",
		"e.maxLinkPercentDeleted: not a limit of an entity type",
	}, errorStrings(l.ValidateFor(threshold.ScopeEntityType, "e")))
	assert.Equal(t, []string{
		"a.maxDeleted: negative count -1",
		"a.maxPercentUpdated: not a limit of an association",
		"a.maxDeleted: not a limit of an association",
	}, errorStrings(l.ValidateFor(threshold.ScopeAssociation, "a")))
	assert.Equal(t, []string{"c.maxDeleted: negative count -1"},
		errorStrings(l.ValidateFor(threshold.ScopeConnector, "c")))
	assert.Nil(t, threshold.DefaultLimits().ValidateFor(threshold.ScopeConnector, "c"))
}

// TestValidateYAML decodes a configuration like the one of package
// entitytype and validates each thresholds block with its path.
func TestValidateYAML(t *testing.T) {
	type entityType struct {
		Name       string           `yaml:"name"`
		Thresholds threshold.Limits `yaml:"thresholds,omitempty"`
	}
	type connector struct {
		Name        string           `yaml:"name"`
		Thresholds  threshold.Limits `yaml:"thresholds,omitempty"`
		EntityTypes []entityType     `yaml:"entityTypes"`
	}
	var cfg struct {
		Connectors []connector `yaml:"connectors"`
	}
	require.NoError(t, decodeYAML(t, `
connectors:
  - name: SAB
    thresholds: { maxDeleted: -5, maxPercentDeleted: 101, maxLinkInserted: off }
    entityTypes:
      - name: SAB_Org
      - name: SAB_Group
        thresholds: { maxPercentUpdated: 2.5 }
      - name: SAB_User
        thresholds: { maxPercentDeleted: 120, maxUpdated: -1, maxLinkDeleted: 3 }
`, &cfg))
	var errs []error
	for i, c := range cfg.Connectors {
		path := fmt.Sprintf("connectors[%d]", i)
		errs = append(errs, c.Thresholds.Validate(path+".thresholds")...)
		for j, e := range c.EntityTypes {
			errs = append(errs, e.Thresholds.ValidateFor(threshold.ScopeEntityType,
				fmt.Sprintf("%s.entityTypes[%d].thresholds", path, j))...)
		}
	}
	assert.Equal(t, []string{
		"connectors[0].thresholds.maxDeleted: negative count -5",
		"connectors[0].thresholds.maxPercentDeleted: percentage 101 over 100",
		"connectors[0].entityTypes[2].thresholds.maxUpdated: negative count -1",
		"connectors[0].entityTypes[2].thresholds.maxPercentDeleted: percentage 120 over 100",
		"connectors[0].entityTypes[2].thresholds.maxLinkDeleted: not a limit of an entity type",
	}, errorStrings(errs))
}

func TestPolicyValidate(t *testing.T) {
	p := &threshold.Policy{
		Connector: threshold.Limits{MaxPercentInserted: threshold.Pct(101)},
		EntityTypes: map[string]threshold.Limits{
			"SAB_User":  {MaxDeleted: threshold.Max(-1)},
			"SAB_Group": {MaxLinkInserted: threshold.Max(1)},
			"SAB_Org":   {MaxDeleted: threshold.Max(1)},
		},
		Associations: map[string]threshold.Limits{
			"members": {MaxInserted: threshold.Max(1), MaxLinkInserted: threshold.Max(1)},
		},
	}
	assert.Equal(t, []string{
		"connector.maxPercentInserted: percentage 101 over 100",
		`entityTypes["SAB_Group"].maxLinkInserted: not a limit of an entity type`,
		`entityTypes["SAB_User"].maxDeleted: negative count -1`,
		`associations["members"].maxInserted: not a limit of an association`,
	}, errorStrings(p.Validate()))
	assert.Nil(t, (*threshold.Policy)(nil).Validate())
	assert.Nil(t, (&threshold.Policy{}).Validate())
}
