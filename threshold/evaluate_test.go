package threshold_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/threshold"
)

// allOff returns limits with every field off, to test one limit alone.
func allOff() threshold.Limits { return threshold.Off() }

// summary lists verdicts as "scope/name/rule count/denominator limit exceeded".
func summary(vs []threshold.Verdict) []string {
	var s []string
	for _, v := range vs {
		s = append(s, fmt.Sprintf("%s/%s/%s %d/%d %s %t", v.Scope, v.Name, v.Rule, v.Count, v.Denominator, v.Limit, v.Exceeded))
	}
	return s
}

// TestEvaluateRules checks every rule at every level where it applies, alone,
// at its limit minus one, at its limit and at its limit plus one.
func TestEvaluateRules(t *testing.T) {
	type rule struct {
		name  string
		field string // the counter counted
		set   func(l *threshold.Limits)
	}
	count, pct := threshold.Max(10), threshold.Pct(5)
	resource := []rule{
		{"maxInserted", "inserted", func(l *threshold.Limits) { l.MaxInserted = count }},
		{"maxPercentInserted", "inserted", func(l *threshold.Limits) { l.MaxPercentInserted = pct }},
		{"maxUpdated", "updated", func(l *threshold.Limits) { l.MaxUpdated = count }},
		{"maxPercentUpdated", "updated", func(l *threshold.Limits) { l.MaxPercentUpdated = pct }},
		{"maxDeleted", "deleted", func(l *threshold.Limits) { l.MaxDeleted = count }},
		{"maxPercentDeleted", "deleted", func(l *threshold.Limits) { l.MaxPercentDeleted = pct }},
	}
	link := []rule{
		{"maxLinkInserted", "linkInserted", func(l *threshold.Limits) { l.MaxLinkInserted = count }},
		{"maxLinkPercentInserted", "linkInserted", func(l *threshold.Limits) { l.MaxLinkPercentInserted = pct }},
		{"maxLinkDeleted", "linkDeleted", func(l *threshold.Limits) { l.MaxLinkDeleted = count }},
		{"maxLinkPercentDeleted", "linkDeleted", func(l *threshold.Limits) { l.MaxLinkPercentDeleted = pct }},
	}
	rejected := []rule{
		{"maxRejected", "rejected", func(l *threshold.Limits) { l.MaxRejected = count }},
		{"maxPercentRejected", "rejected", func(l *threshold.Limits) { l.MaxPercentRejected = pct }},
	}

	// counters has 1,000 users stored and read, 2,000 member links stored
	// and 2,500 read, and n of field in the scope under test.
	counters := func(scope threshold.Scope, field string, n int64) *threshold.Counters {
		e := threshold.EntityCounts{Name: "SAB_User", Stored: 1000, Read: 1000}
		a := threshold.LinkCounts{Name: "SAB_Members", Stored: 2000, Read: 2500}
		switch field {
		case "inserted":
			e.Inserted = n
		case "updated":
			e.Updated = n
		case "deleted":
			e.Deleted = n
		case "linkInserted":
			a.Inserted = n
		case "linkDeleted":
			a.Deleted = n
		case "rejected":
			if scope == threshold.ScopeAssociation {
				a.Rejected = n
			} else {
				e.Rejected = n
			}
		}
		return &threshold.Counters{Connector: "SAB", EntityTypes: []threshold.EntityCounts{e}, Associations: []threshold.LinkCounts{a}}
	}
	// allowed is what rule r allows in scope: 10, or 5 % of its denominator.
	allowed := func(scope threshold.Scope, r rule) (allowed, denominator int64) {
		switch {
		case r.field == "rejected" && scope == threshold.ScopeConnector:
			denominator = 3500 // all rows read
		case r.field == "rejected" && scope == threshold.ScopeEntityType:
			denominator = 1000
		case r.field == "rejected":
			denominator = 2500
		case r.field == "linkInserted" || r.field == "linkDeleted":
			denominator = 2000
		default:
			denominator = 1000
		}
		if strings.Contains(r.name, "Percent") {
			return denominator * 5 / 100, denominator
		}
		return 10, denominator
	}

	levels := []struct {
		scope threshold.Scope
		name  string
		rules []rule
	}{
		{threshold.ScopeConnector, "SAB", append(append(append([]rule{}, resource...), link...), rejected...)},
		{threshold.ScopeEntityType, "SAB_User", append(append([]rule{}, resource...), rejected...)},
		{threshold.ScopeAssociation, "SAB_Members", append(append([]rule{}, link...), rejected...)},
	}
	n := 0
	for _, level := range levels {
		for _, r := range level.rules {
			p := &threshold.Policy{Connector: allOff()}
			switch level.scope {
			case threshold.ScopeConnector:
				r.set(&p.Connector)
			case threshold.ScopeEntityType:
				var l threshold.Limits
				r.set(&l)
				p.EntityTypes = map[string]threshold.Limits{"SAB_User": l}
			case threshold.ScopeAssociation:
				var l threshold.Limits
				r.set(&l)
				p.Associations = map[string]threshold.Limits{"SAB_Members": l}
			}
			limit, denominator := allowed(level.scope, r)
			for _, count := range []int64{limit - 1, limit, limit + 1} {
				t.Run(fmt.Sprintf("%s/%s/%d", level.scope, r.name, count), func(t *testing.T) {
					n++
					res, err := p.Evaluate(counters(level.scope, r.field, count))
					exceeded := count > limit
					require.NotNil(t, res)
					require.Len(t, res.Verdicts, 1)
					v := res.Verdicts[0]
					assert.Equal(t, r.name, v.Rule)
					assert.Equal(t, level.scope, v.Scope)
					assert.Equal(t, level.name, v.Name)
					assert.Equal(t, count, v.Count)
					assert.Equal(t, denominator, v.Denominator)
					assert.Equal(t, limit, v.Allowed())
					assert.Equal(t, exceeded, v.Exceeded)
					if exceeded {
						require.ErrorIs(t, err, threshold.ErrExceeded)
						assert.Equal(t, res.Verdicts, res.Exceeded())
					} else {
						require.NoError(t, err)
						assert.Empty(t, res.Exceeded())
					}
				})
			}
		}
	}
	assert.Equal(t, (12+8+6)*3, n)
}

func TestEvaluateLowestWins(t *testing.T) {
	users := func(deleted int64) threshold.EntityCounts {
		return threshold.EntityCounts{Name: "SAB_User", Stored: 100_000, Read: 100_000, Deleted: deleted}
	}
	groups := threshold.EntityCounts{Name: "SAB_Group", Stored: 100_000, Read: 100_000, Deleted: 95}
	for _, tc := range []struct {
		name     string
		policy   threshold.Policy
		counts   []threshold.EntityCounts
		exceeded []string
	}{
		{
			name:     "entity type lower than connector",
			policy:   threshold.Policy{EntityTypes: map[string]threshold.Limits{"SAB_User": {MaxDeleted: threshold.Max(10)}}},
			counts:   []threshold.EntityCounts{users(11)},
			exceeded: []string{"entityType/SAB_User/maxDeleted 11/100000 10 true"},
		},
		{
			name:     "entity type at its limit",
			policy:   threshold.Policy{EntityTypes: map[string]threshold.Limits{"SAB_User": {MaxDeleted: threshold.Max(10)}}},
			counts:   []threshold.EntityCounts{users(10)},
			exceeded: nil,
		},
		{
			name:     "connector lower than entity type",
			policy:   threshold.Policy{EntityTypes: map[string]threshold.Limits{"SAB_User": {MaxDeleted: threshold.Max(200)}}},
			counts:   []threshold.EntityCounts{users(150)},
			exceeded: []string{"connector/SAB/maxDeleted 150/100000 100 true"},
		},
		{
			name:   "connector counts the sum",
			policy: threshold.Policy{EntityTypes: map[string]threshold.Limits{"SAB_User": {MaxDeleted: threshold.Max(10)}}},
			counts: []threshold.EntityCounts{users(11), groups},
			exceeded: []string{
				"connector/SAB/maxDeleted 106/200000 100 true",
				"entityType/SAB_User/maxDeleted 11/100000 10 true",
			},
		},
		{
			name:     "percentage lower than count",
			policy:   threshold.Policy{Connector: threshold.Limits{MaxDeleted: threshold.Max(1000), MaxPercentDeleted: threshold.MustParsePercent("0.01")}},
			counts:   []threshold.EntityCounts{users(11)},
			exceeded: []string{"connector/SAB/maxPercentDeleted 11/100000 0.01 % true"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.policy.Evaluate(&threshold.Counters{Connector: "SAB", EntityTypes: tc.counts})
			require.NotNil(t, res)
			assert.Equal(t, tc.exceeded, summary(res.Exceeded()))
			if tc.exceeded == nil {
				assert.NoError(t, err)
			} else {
				var e *threshold.ExceededError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, res.Exceeded(), e.Verdicts)
			}
		})
	}
}

func TestEvaluateZeroStored(t *testing.T) {
	first := func(e threshold.EntityCounts, a threshold.LinkCounts) *threshold.Counters {
		return &threshold.Counters{Connector: "SAB", EntityTypes: []threshold.EntityCounts{e}, Associations: []threshold.LinkCounts{a}}
	}
	// A first load: nothing stored, some rows read.
	res, err := (*threshold.Policy)(nil).Evaluate(first(
		threshold.EntityCounts{Name: "SAB_User", Read: 3, Inserted: 3},
		threshold.LinkCounts{Name: "SAB_Members", Read: 1, Inserted: 1}))
	require.ErrorIs(t, err, threshold.ErrExceeded)
	assert.Equal(t, []string{
		"connector/SAB/maxPercentInserted 3/0 5 % true",
		"connector/SAB/maxLinkPercentInserted 1/0 5 % true",
	}, summary(res.Exceeded()))
	assert.Equal(t, "threshold: SAB: 3 inserts > maxPercentInserted 5 % of 0 stored (0); "+
		"SAB: 1 link insert > maxLinkPercentInserted 5 % of 0 stored (0)", err.Error())

	// Nothing stored and nothing changed: nothing exceeded.
	res, err = (*threshold.Policy)(nil).Evaluate(first(
		threshold.EntityCounts{Name: "SAB_User"}, threshold.LinkCounts{Name: "SAB_Members"}))
	require.NoError(t, err)
	assert.Len(t, res.Verdicts, 11) // every default but maxRejected, which is off
	assert.Empty(t, res.Exceeded())

	// Rejected rows with none read (a caller's bug) exceed the percentage.
	_, err = (*threshold.Policy)(nil).Evaluate(first(
		threshold.EntityCounts{Name: "SAB_User", Rejected: 1}, threshold.LinkCounts{Name: "SAB_Members"}))
	require.ErrorIs(t, err, threshold.ErrExceeded)
	assert.Equal(t, "threshold: SAB: 1 rejected row > maxPercentRejected 5 % of 0 read (0)", err.Error())
}

func TestEvaluateFractional(t *testing.T) {
	for _, tc := range []struct {
		pct    string
		stored int64
		pass   int64 // the largest count that passes
	}{
		{"2.5", 1000, 25},
		{"2.5%", 40, 1},
		{"33.333", 1000, 333},
		{"33.333", 3, 0},
		{"33.334", 3, 1},
		{"33.333", 1_000_000, 333_330},
		{"0.1", 1000, 1},
		{"0.1", 999, 0},
		{"0.000001", 100_000_000, 1},
		{"0.000001", 99_999_999, 0},
		{"99.999999", 1_000_000, 999_999},
		{"100", 1000, 1000},
		{"100", 1, 1},
		{"50", 1, 0},
		{"50", 2, 1},
		{"5", 4000, 200},
		{"5", 19, 0},
		{"5", 20, 1},
	} {
		p := &threshold.Policy{
			Connector:   allOff(),
			EntityTypes: map[string]threshold.Limits{"U": {MaxPercentDeleted: threshold.MustParsePercent(tc.pct)}},
		}
		for _, deleted := range []int64{tc.pass, tc.pass + 1} {
			res, err := p.Evaluate(&threshold.Counters{EntityTypes: []threshold.EntityCounts{{Name: "U", Stored: tc.stored, Deleted: deleted}}})
			require.NotNil(t, res)
			require.Len(t, res.Verdicts, 1)
			v := res.Verdicts[0]
			assert.Equal(t, tc.pass, v.Allowed(), "%s %% of %d", tc.pct, tc.stored)
			assert.Equal(t, deleted > tc.pass, v.Exceeded, "%d deletes, %s %% of %d", deleted, tc.pct, tc.stored)
			assert.Equal(t, deleted > tc.pass, errors.Is(err, threshold.ErrExceeded))
		}
	}
}

// TestEvaluateUnsetZeroOff checks absent, 0 and off at each level.
func TestEvaluateUnsetZeroOff(t *testing.T) {
	counters := &threshold.Counters{
		Connector:    "SAB",
		EntityTypes:  []threshold.EntityCounts{{Name: "U", Stored: 1_000_000, Read: 1_000_000, Deleted: 101}},
		Associations: []threshold.LinkCounts{{Name: "M", Stored: 1_000_000, Read: 1_000_000, Deleted: 1001}},
	}
	rules := func(res *threshold.Result, scope threshold.Scope) []string {
		var s []string
		for _, v := range res.Verdicts {
			if v.Scope == scope {
				s = append(s, v.Rule)
			}
		}
		return s
	}
	defaultConnector := []string{"maxInserted", "maxPercentInserted", "maxUpdated", "maxPercentUpdated",
		"maxDeleted", "maxPercentDeleted", "maxLinkInserted", "maxLinkPercentInserted",
		"maxLinkDeleted", "maxLinkPercentDeleted", "maxPercentRejected"}

	t.Run("connector", func(t *testing.T) {
		for _, l := range []threshold.Limits{{}, {MaxDeleted: threshold.Max(0), MaxLinkDeleted: threshold.Max(0)}} {
			res, err := (&threshold.Policy{Connector: l}).Evaluate(counters)
			require.ErrorIs(t, err, threshold.ErrExceeded)
			assert.Equal(t, defaultConnector, rules(res, threshold.ScopeConnector))
			assert.Equal(t, []string{
				"connector/SAB/maxDeleted 101/1000000 100 true",
				"connector/SAB/maxLinkDeleted 1001/1000000 1,000 true",
			}, summary(res.Exceeded()))
			assert.Empty(t, res.Warnings)
		}
		res, err := (&threshold.Policy{Connector: threshold.Limits{
			MaxDeleted: threshold.CountOff(), MaxLinkDeleted: threshold.CountOff(),
		}}).Evaluate(counters)
		require.NoError(t, err)
		assert.NotContains(t, rules(res, threshold.ScopeConnector), "maxDeleted")
		assert.NotContains(t, rules(res, threshold.ScopeConnector), "maxLinkDeleted")
		assert.Contains(t, rules(res, threshold.ScopeConnector), "maxPercentDeleted")
		assert.Empty(t, res.Warnings, "the percentages still guard")
	})

	for _, level := range []struct {
		scope threshold.Scope
		set   func(p *threshold.Policy, c threshold.Count)
		rule  string
	}{
		{threshold.ScopeEntityType, func(p *threshold.Policy, c threshold.Count) {
			p.EntityTypes = map[string]threshold.Limits{"U": {MaxDeleted: c}}
		}, "maxDeleted"},
		{threshold.ScopeAssociation, func(p *threshold.Policy, c threshold.Count) {
			p.Associations = map[string]threshold.Limits{"M": {MaxLinkDeleted: c}}
		}, "maxLinkDeleted"},
	} {
		t.Run(level.scope.String(), func(t *testing.T) {
			for _, c := range []threshold.Count{{}, threshold.Max(0), threshold.CountOff()} {
				var p threshold.Policy
				level.set(&p, c)
				res, err := p.Evaluate(counters)
				require.ErrorIs(t, err, threshold.ErrExceeded, "the connector's limit still applies")
				assert.Empty(t, rules(res, level.scope), c)
				assert.Equal(t, defaultConnector, rules(res, threshold.ScopeConnector), c)
				assert.Len(t, res.Exceeded(), 2)
			}
			var p threshold.Policy
			level.set(&p, threshold.Max(5000))
			res, err := p.Evaluate(counters)
			require.ErrorIs(t, err, threshold.ErrExceeded)
			assert.Equal(t, []string{level.rule}, rules(res, level.scope))
		})
	}
}

func TestEvaluateWarnings(t *testing.T) {
	off := func(kinds ...string) threshold.Limits {
		l := threshold.Limits{}
		for _, k := range kinds {
			switch k {
			case "inserts":
				l.MaxInserted, l.MaxPercentInserted = threshold.CountOff(), threshold.PercentOff()
			case "updates":
				l.MaxUpdated, l.MaxPercentUpdated = threshold.CountOff(), threshold.PercentOff()
			case "deletes":
				l.MaxDeleted, l.MaxPercentDeleted = threshold.CountOff(), threshold.PercentOff()
			case "linkInserts":
				l.MaxLinkInserted, l.MaxLinkPercentInserted = threshold.CountOff(), threshold.PercentOff()
			case "linkDeletes":
				l.MaxLinkDeleted, l.MaxLinkPercentDeleted = threshold.CountOff(), threshold.PercentOff()
			}
		}
		return l
	}
	counters := &threshold.Counters{
		Connector:    "SAB",
		EntityTypes:  []threshold.EntityCounts{{Name: "SAB_User"}, {Name: "SAB_Group"}, {Name: "SAB_Org"}},
		Associations: []threshold.LinkCounts{{Name: "members"}, {Name: "owners"}},
	}
	for _, tc := range []struct {
		name     string
		policy   *threshold.Policy
		counters *threshold.Counters
		want     []string
	}{
		{"defaults", nil, counters, nil},
		{"count off only", &threshold.Policy{Connector: threshold.Limits{MaxDeleted: threshold.CountOff()}}, counters, nil},
		{"percent off only", &threshold.Policy{Connector: threshold.Limits{MaxPercentDeleted: threshold.PercentOff()}}, counters, nil},
		{"rejected off", &threshold.Policy{Connector: threshold.Limits{MaxPercentRejected: threshold.PercentOff()}}, counters, nil},
		{
			"deletes off",
			&threshold.Policy{Connector: off("deletes")},
			counters,
			[]string{"SAB: deletes of SAB_User, SAB_Group, SAB_Org are not guarded: maxDeleted and maxPercentDeleted are off"},
		},
		{
			"deletes off, some entity types guarded",
			&threshold.Policy{Connector: off("deletes"), EntityTypes: map[string]threshold.Limits{
				"SAB_User": {MaxPercentDeleted: threshold.Pct(1)},
				"SAB_Org":  {MaxDeleted: threshold.Max(3)},
			}},
			counters,
			[]string{"SAB: deletes of SAB_Group are not guarded: maxDeleted and maxPercentDeleted are off"},
		},
		{
			"deletes off, every entity type guarded",
			&threshold.Policy{Connector: off("deletes"), EntityTypes: map[string]threshold.Limits{
				"SAB_User":  {MaxPercentDeleted: threshold.Pct(1)},
				"SAB_Group": {MaxDeleted: threshold.Max(3)},
				"SAB_Org":   {MaxDeleted: threshold.Max(3)},
			}},
			counters,
			nil,
		},
		{
			"entity type off is not a guard",
			&threshold.Policy{Connector: off("updates"), EntityTypes: map[string]threshold.Limits{
				"SAB_User":  {MaxUpdated: threshold.CountOff(), MaxPercentUpdated: threshold.PercentOff()},
				"SAB_Group": {MaxUpdated: threshold.Max(1)},
				"SAB_Org":   {MaxDeleted: threshold.Max(1)},
			}},
			counters,
			[]string{"SAB: updates of SAB_User, SAB_Org are not guarded: maxUpdated and maxPercentUpdated are off"},
		},
		{
			"links off",
			&threshold.Policy{Connector: off("linkInserts", "linkDeletes"), Associations: map[string]threshold.Limits{
				"members": {MaxLinkDeleted: threshold.Max(1), MaxLinkPercentInserted: threshold.Pct(1)},
			}},
			counters,
			[]string{
				"SAB: link inserts of owners are not guarded: maxLinkInserted and maxLinkPercentInserted are off",
				"SAB: link deletes of owners are not guarded: maxLinkDeleted and maxLinkPercentDeleted are off",
			},
		},
		{
			"everything off, nothing counted",
			&threshold.Policy{Connector: allOff()},
			&threshold.Counters{},
			[]string{
				"connector: inserts are not guarded: maxInserted and maxPercentInserted are off",
				"connector: updates are not guarded: maxUpdated and maxPercentUpdated are off",
				"connector: deletes are not guarded: maxDeleted and maxPercentDeleted are off",
				"connector: link inserts are not guarded: maxLinkInserted and maxLinkPercentInserted are off",
				"connector: link deletes are not guarded: maxLinkDeleted and maxLinkPercentDeleted are off",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.policy.Evaluate(tc.counters)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Warnings)
		})
	}
}

func TestExceededMessage(t *testing.T) {
	p := &threshold.Policy{
		EntityTypes: map[string]threshold.Limits{"SAB_User": {MaxPercentDeleted: threshold.Pct(5)}},
	}
	res, err := p.Evaluate(&threshold.Counters{
		Connector:   "SAB",
		EntityTypes: []threshold.EntityCounts{{Name: "SAB_User", Stored: 4000, Read: 4000, Deleted: 312}},
	})
	require.ErrorIs(t, err, threshold.ErrExceeded)
	assert.Equal(t, "threshold: SAB: 312 deletes > maxDeleted 100; "+
		"SAB: 312 deletes > maxPercentDeleted 5 % of 4,000 stored (200); "+
		"SAB_User: 312 deletes > maxPercentDeleted 5 % of 4,000 stored (200)", err.Error())
	for _, v := range res.Exceeded() {
		assert.Contains(t, err.Error(), v.String())
	}

	for _, tc := range []struct {
		v    threshold.Verdict
		want string
	}{
		{threshold.Verdict{Rule: "maxInserted", Scope: threshold.ScopeConnector, Name: "SAB", Count: 150, Denominator: 1_234_567,
			Limit: threshold.Limit{Count: threshold.Max(100)}, Exceeded: true},
			"SAB: 150 inserts > maxInserted 100"},
		{threshold.Verdict{Rule: "maxUpdated", Name: "SAB", Count: 1, Limit: threshold.Limit{Count: threshold.Max(100)}},
			"SAB: 1 update <= maxUpdated 100"},
		{threshold.Verdict{Rule: "maxLinkInserted", Scope: threshold.ScopeAssociation, Name: "SAB_Members", Count: 1200,
			Limit: threshold.Limit{Count: threshold.Max(1000)}, Exceeded: true},
			"SAB_Members: 1,200 link inserts > maxLinkInserted 1,000"},
		{threshold.Verdict{Rule: "maxLinkPercentDeleted", Scope: threshold.ScopeAssociation, Name: "SAB_Members", Count: 1_234_567,
			Denominator: 10_000_000, Limit: threshold.Limit{Percent: threshold.MustParsePercent("12.5")}, Exceeded: true},
			"SAB_Members: 1,234,567 link deletes > maxLinkPercentDeleted 12.5 % of 10,000,000 stored (1,250,000)"},
		{threshold.Verdict{Rule: "maxPercentRejected", Scope: threshold.ScopeEntityType, Name: "SAB_User", Count: 600,
			Denominator: 1000, Limit: threshold.Limit{Percent: threshold.Pct(5)}, Exceeded: true},
			"SAB_User: 600 rejected rows > maxPercentRejected 5 % of 1,000 read (50)"},
		{threshold.Verdict{Rule: "maxRejected", Scope: threshold.ScopeEntityType, Name: "SAB_User", Count: 0,
			Limit: threshold.Limit{Count: threshold.Max(10)}},
			"SAB_User: 0 rejected rows <= maxRejected 10"},
		{threshold.Verdict{Rule: "maxPercentUpdated", Scope: threshold.ScopeEntityType, Count: 2,
			Denominator: 3, Limit: threshold.Limit{Percent: threshold.MustParsePercent("33.333")}, Exceeded: true},
			"entity type: 2 updates > maxPercentUpdated 33.333 % of 3 stored (0)"},
	} {
		assert.Equal(t, tc.want, tc.v.String())
	}

	e := &threshold.ExceededError{}
	assert.Equal(t, "threshold: limit exceeded", e.Error())
	assert.ErrorIs(t, fmt.Errorf("run blocked: %w", e), threshold.ErrExceeded)
	assert.False(t, e.Is(errors.New("threshold: limit exceeded")))
}

func TestEvaluateHugeCounts(t *testing.T) {
	const huge = math.MaxInt64
	allowed := func(pct string, n int64) int64 {
		// n × pct / 100, with math/big.
		r, ok := new(big.Rat).SetString(pct)
		require.True(t, ok)
		r.Mul(r, new(big.Rat).SetInt64(n))
		r.Quo(r, big.NewRat(100, 1))
		return new(big.Int).Quo(r.Num(), r.Denom()).Int64()
	}
	for _, tc := range []struct {
		pct             string
		stored, deleted int64
	}{
		{"100", huge, huge},
		{"99.999999", huge, huge},
		{"99.999999", huge, allowed("99.999999", huge)},
		{"5", huge, huge},
		{"5", huge, allowed("5", huge)},
		{"0.000001", huge, allowed("0.000001", huge)},
		{"33.333", huge - 1, allowed("33.333", huge-1)},
		{"5", 0, huge},
	} {
		p := &threshold.Policy{
			Connector:   allOff(),
			EntityTypes: map[string]threshold.Limits{"U": {MaxDeleted: threshold.Max(huge), MaxPercentDeleted: threshold.MustParsePercent(tc.pct)}},
		}
		res, err := p.Evaluate(&threshold.Counters{EntityTypes: []threshold.EntityCounts{{Name: "U", Stored: tc.stored, Deleted: tc.deleted}}})
		require.NotNil(t, res)
		require.Len(t, res.Verdicts, 2)
		assert.False(t, res.Verdicts[0].Exceeded, "maxDeleted MaxInt64 passes any count")
		v := res.Verdicts[1]
		want := allowed(tc.pct, tc.stored)
		assert.Equal(t, want, v.Allowed(), "%s %% of %d", tc.pct, tc.stored)
		assert.Equal(t, tc.deleted > want, v.Exceeded, "%d deletes, %s %% of %d", tc.deleted, tc.pct, tc.stored)
		assert.Equal(t, tc.deleted > want, err != nil)
	}
	// One more than the whole part of 99.999999 % of MaxInt64 blocks.
	p := &threshold.Policy{Connector: allOff(), EntityTypes: map[string]threshold.Limits{"U": {MaxPercentDeleted: threshold.MustParsePercent("99.999999")}}}
	_, err := p.Evaluate(&threshold.Counters{EntityTypes: []threshold.EntityCounts{{Name: "U", Stored: huge, Deleted: allowed("99.999999", huge) + 1}}})
	assert.ErrorIs(t, err, threshold.ErrExceeded)

	// Connector sums that overflow are an error, not a verdict.
	res, err := (*threshold.Policy)(nil).Evaluate(&threshold.Counters{Connector: "SAB", EntityTypes: []threshold.EntityCounts{
		{Name: "U", Stored: huge}, {Name: "G", Stored: 1},
	}})
	assert.Nil(t, res)
	require.EqualError(t, err, "threshold: connector SAB: counters overflow int64")
	assert.NotErrorIs(t, err, threshold.ErrExceeded)
	_, err = (*threshold.Policy)(nil).Evaluate(&threshold.Counters{Connector: "SAB",
		EntityTypes:  []threshold.EntityCounts{{Name: "U", Deleted: huge}},
		Associations: []threshold.LinkCounts{{Name: "M", Deleted: huge}},
	})
	require.ErrorIs(t, err, threshold.ErrExceeded, "resource and link deletes are summed apart")
}

func TestEvaluateInvalid(t *testing.T) {
	res, err := (*threshold.Policy)(nil).Evaluate(&threshold.Counters{EntityTypes: []threshold.EntityCounts{{Name: "U", Deleted: -1}}})
	assert.Nil(t, res)
	require.ErrorContains(t, err, "threshold: entity type U: negative counter")
	assert.NotErrorIs(t, err, threshold.ErrExceeded)

	_, err = (*threshold.Policy)(nil).Evaluate(&threshold.Counters{Associations: []threshold.LinkCounts{{Name: "M", Stored: -1}}})
	require.ErrorContains(t, err, "threshold: association M: negative counter")

	p := &threshold.Policy{
		Connector:   threshold.Limits{MaxDeleted: threshold.Max(-1)},
		EntityTypes: map[string]threshold.Limits{"U": {MaxLinkDeleted: threshold.Max(1)}},
	}
	res, err = p.Evaluate(&threshold.Counters{})
	assert.Nil(t, res)
	require.EqualError(t, err, "threshold: invalid policy: connector.maxDeleted: negative count -1\n"+
		`entityTypes["U"].maxLinkDeleted: not a limit of an entity type`)
	assert.NotErrorIs(t, err, threshold.ErrExceeded)
}

func TestEvaluateOrder(t *testing.T) {
	p := &threshold.Policy{
		Connector: threshold.Limits{MaxRejected: threshold.Max(7)},
		EntityTypes: map[string]threshold.Limits{
			"A": {MaxDeleted: threshold.Max(1), MaxPercentRejected: threshold.Pct(1), MaxInserted: threshold.Max(1)},
			"B": {MaxPercentUpdated: threshold.Pct(1)},
		},
		Associations: map[string]threshold.Limits{
			"M": {MaxRejected: threshold.Max(1), MaxLinkPercentDeleted: threshold.Pct(1), MaxLinkInserted: threshold.Max(1)},
		},
	}
	res, err := p.Evaluate(&threshold.Counters{
		Connector:    "SAB",
		EntityTypes:  []threshold.EntityCounts{{Name: "B", Stored: 100}, {Name: "C", Stored: 100}, {Name: "A", Stored: 100}},
		Associations: []threshold.LinkCounts{{Name: "N", Stored: 100}, {Name: "M", Stored: 100}},
	})
	require.NoError(t, err)
	var got []string
	for _, v := range res.Verdicts {
		got = append(got, v.Scope.String()+"/"+v.Name+"/"+v.Rule)
	}
	assert.Equal(t, []string{
		"connector/SAB/maxInserted",
		"connector/SAB/maxPercentInserted",
		"connector/SAB/maxUpdated",
		"connector/SAB/maxPercentUpdated",
		"connector/SAB/maxDeleted",
		"connector/SAB/maxPercentDeleted",
		"connector/SAB/maxLinkInserted",
		"connector/SAB/maxLinkPercentInserted",
		"connector/SAB/maxLinkDeleted",
		"connector/SAB/maxLinkPercentDeleted",
		"connector/SAB/maxRejected",
		"connector/SAB/maxPercentRejected",
		"entityType/B/maxPercentUpdated",
		"entityType/A/maxInserted",
		"entityType/A/maxDeleted",
		"entityType/A/maxPercentRejected",
		"association/M/maxLinkInserted",
		"association/M/maxLinkPercentDeleted",
		"association/M/maxRejected",
	}, got)

	again, err := p.Evaluate(&threshold.Counters{
		Connector:    "SAB",
		EntityTypes:  []threshold.EntityCounts{{Name: "B", Stored: 100}, {Name: "C", Stored: 100}, {Name: "A", Stored: 100}},
		Associations: []threshold.LinkCounts{{Name: "N", Stored: 100}, {Name: "M", Stored: 100}},
	})
	require.NoError(t, err)
	assert.Equal(t, res, again)
}

func TestEvaluateNil(t *testing.T) {
	c := &threshold.Counters{Connector: "SAB", EntityTypes: []threshold.EntityCounts{{Name: "U", Stored: 10, Updated: 1}}}
	fromNil, errNil := (*threshold.Policy)(nil).Evaluate(c)
	fromZero, errZero := (&threshold.Policy{}).Evaluate(c)
	fromDefaults, errDefaults := (&threshold.Policy{Connector: threshold.DefaultLimits()}).Evaluate(c)
	assert.Equal(t, fromNil, fromZero)
	assert.Equal(t, fromNil, fromDefaults)
	assert.Equal(t, errNil, errZero)
	assert.Equal(t, errNil, errDefaults)
	require.ErrorIs(t, errNil, threshold.ErrExceeded)
	assert.Equal(t, "threshold: SAB: 1 update > maxPercentUpdated 5 % of 10 stored (0)", errNil.Error())

	res, err := (*threshold.Policy)(nil).Evaluate(nil)
	require.NoError(t, err)
	assert.Len(t, res.Verdicts, 11)
}

func TestResultJSON(t *testing.T) {
	res, err := (*threshold.Policy)(nil).Evaluate(&threshold.Counters{
		Connector:   "SAB",
		EntityTypes: []threshold.EntityCounts{{Name: "SAB_User", Stored: 4000, Read: 4000, Deleted: 312}},
	})
	require.ErrorIs(t, err, threshold.ErrExceeded)
	res.Verdicts = res.Verdicts[4:6]
	res.Warnings = []string{"w"}
	data, err := json.Marshal(res)
	require.NoError(t, err)
	assert.JSONEq(t, `{"verdicts":[
		{"rule":"maxDeleted","scope":"connector","name":"SAB","count":312,"denominator":4000,"limit":100,"exceeded":true},
		{"rule":"maxPercentDeleted","scope":"connector","name":"SAB","count":312,"denominator":4000,"limit":"5%","exceeded":true}
	],"warnings":["w"]}`, string(data))
	var back threshold.Result
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, *res, back)

	v := threshold.Verdict{Rule: "maxPercentDeleted", Scope: threshold.ScopeAssociation, Limit: threshold.Limit{Percent: threshold.MustParsePercent("33.333")}}
	data, err = json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"rule":"maxPercentDeleted","scope":"association","name":"","count":0,"denominator":0,"limit":"33.333%","exceeded":false}`, string(data))
	var vback threshold.Verdict
	require.NoError(t, json.Unmarshal(data, &vback))
	assert.Equal(t, v, vback)

	assert.Error(t, json.Unmarshal([]byte(`{"scope":"galaxy"}`), &vback))
	assert.Error(t, json.Unmarshal([]byte(`{"limit":"5.1234567%"}`), &vback))
	// Allowed does not overflow on hand-made verdicts out of range.
	v = threshold.Verdict{Rule: "maxPercentDeleted", Denominator: math.MaxInt64, Limit: threshold.Limit{Percent: threshold.Pct(1000)}}
	assert.Equal(t, int64(math.MaxInt64), v.Allowed())
	v.Limit.Percent = threshold.MustParsePercent("-5")
	assert.Equal(t, int64(0), v.Allowed())

	_, err = json.Marshal(threshold.Verdict{Scope: 9})
	assert.Error(t, err)
	assert.Equal(t, "Scope(9)", threshold.Scope(9).String())
}

func TestCountersJSON(t *testing.T) {
	c := threshold.Counters{
		Connector:    "SAB",
		EntityTypes:  []threshold.EntityCounts{{Name: "U", Stored: 1, Read: 2, Rejected: 3, Inserted: 4, Updated: 5, Deleted: 6, Unchanged: 7}},
		Associations: []threshold.LinkCounts{{Name: "M", Stored: 1, Read: 2, Rejected: 3, Inserted: 4, Deleted: 6}},
	}
	data, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"connector":"SAB",
		"entityTypes":[{"name":"U","stored":1,"read":2,"rejected":3,"inserted":4,"updated":5,"deleted":6,"unchanged":7}],
		"associations":[{"name":"M","stored":1,"read":2,"rejected":3,"inserted":4,"deleted":6}]}`, string(data))
	var back threshold.Counters
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c, back)
}
