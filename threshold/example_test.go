package threshold_test

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/idsync/idsync/threshold"
)

// A run that deletes 312 of 4,000 users is blocked: it exceeds the
// connector's default limit of 100 deletes and the entity type's 5 %.
func ExamplePolicy_Evaluate() {
	policy := &threshold.Policy{
		EntityTypes: map[string]threshold.Limits{
			"SAB_User": {MaxPercentDeleted: threshold.Pct(5)},
		},
	}
	counters := &threshold.Counters{
		Connector: "SAB",
		EntityTypes: []threshold.EntityCounts{
			{Name: "SAB_User", Stored: 4000, Read: 3700, Updated: 25, Deleted: 312, Unchanged: 3663},
		},
	}
	res, err := policy.Evaluate(counters)
	if errors.Is(err, threshold.ErrExceeded) {
		fmt.Println("blocked:", err)
	}
	for _, v := range res.Exceeded() {
		fmt.Printf("%s %s: %d > %d\n", v.Name, v.Rule, v.Count, v.Allowed())
	}
	// Output:
	// blocked: threshold: SAB: 312 deletes > maxDeleted 100; SAB: 312 deletes > maxPercentDeleted 5 % of 4,000 stored (200); SAB_User: 312 deletes > maxPercentDeleted 5 % of 4,000 stored (200)
	// SAB maxDeleted: 312 > 100
	// SAB maxPercentDeleted: 312 > 200
	// SAB_User maxPercentDeleted: 312 > 200
}

// With nothing stored yet, any insert exceeds a percentage limit: a first
// load is blocked for review.
func ExamplePolicy_Evaluate_firstLoad() {
	res, err := (*threshold.Policy)(nil).Evaluate(&threshold.Counters{
		Connector:   "HR",
		EntityTypes: []threshold.EntityCounts{{Name: "HR_Person", Read: 80, Inserted: 80}},
	})
	fmt.Println(err)
	fmt.Println(len(res.Verdicts), "verdicts")
	// Output:
	// threshold: HR: 80 inserts > maxPercentInserted 5 % of 0 stored (0)
	// 11 verdicts
}

// Turning a connector-level limit off is explicit, and Evaluate warns when
// no limit is left on a kind of change.
func ExamplePolicy_Evaluate_off() {
	policy := &threshold.Policy{
		Connector: threshold.Limits{
			MaxDeleted:        threshold.CountOff(),
			MaxPercentDeleted: threshold.PercentOff(),
		},
		EntityTypes: map[string]threshold.Limits{
			"SAB_User": {MaxDeleted: threshold.Max(50)},
		},
	}
	res, err := policy.Evaluate(&threshold.Counters{
		Connector: "SAB",
		EntityTypes: []threshold.EntityCounts{
			{Name: "SAB_User", Stored: 4000, Read: 4000, Deleted: 20},
			{Name: "SAB_Assignment", Stored: 9000, Read: 5000, Deleted: 4000},
		},
	})
	fmt.Println(err)
	for _, w := range res.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// <nil>
	// warning: SAB: deletes of SAB_Assignment are not guarded: maxDeleted and maxPercentDeleted are off
}

func ExampleParsePercent() {
	p, err := threshold.ParsePercent("2.5%")
	fmt.Println(p, err)
	_, err = threshold.ParsePercent("0.0000001")
	fmt.Println(err)
	// Output:
	// 2.5 % <nil>
	// threshold: percentage "0.0000001" has more than 6 decimals
}

// Limits decode from a YAML thresholds block; Validate then reports every
// value out of range with its path.
func ExampleLimits_Validate() {
	var cfg struct {
		Thresholds threshold.Limits `yaml:"thresholds"`
	}
	dec := yaml.NewDecoder(strings.NewReader(
		"thresholds: { maxDeleted: -1, maxPercentDeleted: 120, maxLinkInserted: off, maxPercentUpdated: 2.5 }"))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Thresholds.MaxLinkInserted, cfg.Thresholds.MaxPercentUpdated)
	for _, err := range cfg.Thresholds.Validate("connectors[0].entityTypes[2].thresholds") {
		fmt.Println(err)
	}
	// Output:
	// off 2.5 %
	// connectors[0].entityTypes[2].thresholds.maxDeleted: negative count -1
	// connectors[0].entityTypes[2].thresholds.maxPercentDeleted: percentage 120 over 100
}

// Off switches every limit off explicitly, for a test or a tool: nothing
// blocks, and the warnings say what is not guarded.
func ExampleOff() {
	res, err := (&threshold.Policy{Connector: threshold.Off()}).Evaluate(&threshold.Counters{
		Connector:   "HR",
		EntityTypes: []threshold.EntityCounts{{Name: "HR_Person", Stored: 10, Read: 0, Deleted: 10}},
	})
	fmt.Println(err)
	fmt.Println(res.Warnings[0])
	// Output:
	// <nil>
	// HR: inserts of HR_Person are not guarded: maxInserted and maxPercentInserted are off
}
