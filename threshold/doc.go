// Package threshold implements the safety guards of a sync run: limits on
// the number of changes that a run may make, evaluated on the whole change
// set before anything is written. When a limit is exceeded the run is
// blocked for a person to review.
//
// # Limits
//
// A [Policy] sets [Limits] at three levels:
//
//   - the connector: every limit, counted over all the connector's entity
//     types (resources) and associations (links);
//   - an entity type: the resource limits maxInserted, maxUpdated,
//     maxDeleted, maxPercentInserted, maxPercentUpdated, maxPercentDeleted,
//     counted for that entity type;
//   - an association: the link limits maxLinkInserted, maxLinkDeleted,
//     maxLinkPercentInserted, maxLinkPercentDeleted, counted for that
//     association.
//
// Links are only ever inserted or deleted: a link has no properties to
// update, so there is no link-update limit. The rejected-rows limits
// maxRejected and maxPercentRejected apply at every level, so that an input
// whose values mostly fail to convert (a changed date format, say) blocks
// rather than quietly keeping every stored resource as it was.
//
// Limits are on by default. An unset connector-level limit takes its value
// from [DefaultLimits]: 100 resources and 1,000 links inserted, updated or
// deleted, 5 % for every percentage, 5 % of the rows read rejected and no
// absolute limit on rejected rows. At the entity-type and association levels
// an absent limit, or 0, means "not set here". A connector-level limit is
// disabled only explicitly, with the value off ([CountOff], [PercentOff]; in
// YAML and JSON the string "off"); 0 does not disable it. Off at an entity
// type or association is the same as absent: it cannot lift the connector's
// limit, which counts that entity type too. [Policy.Evaluate] warns of every
// kind of change (inserts, updates, deletes, link inserts, link deletes)
// that some entity type or association has no active limit on, neither
// count nor percentage, at its own level nor at the connector's.
//
// # Evaluation
//
// Every active limit is checked and reported as a [Verdict]; every exceeded
// one is reported, so the lowest limit that applies stops the run. A limit
// is exceeded when the count is greater than it: a count equal to its limit
// passes.
//
// A percentage is of the number of resources (links) of its scope currently
// in the store, before the run: 5 % of 4,000 stored allows 200 deletes and
// blocks at 201. With none stored, any change of that kind (a count above 0)
// exceeds a percentage limit, so a first load blocks for review. The
// rejected-rows percentage is of the number of rows read; with no row read
// and none rejected, nothing is exceeded.
//
// Percentages are exact. A [Percent] holds a whole number of millionths of
// a percent, parsed from decimal text ("2.5", "33.333", "0.1%") with at most
// six decimals, never through floating point, and a count n exceeds p
// percent of s when n × 100 > p × s, computed in 128-bit integer arithmetic
// so that no count overflows: 2.5 % of 1,000 allows 25 and blocks 26, and
// 33.333 % of 3 blocks 1.
//
// # Configuration
//
// [Count] and [Percent] implement encoding.TextUnmarshaler, so a YAML
// decoder such as go.yaml.in/yaml/v3 reads a thresholds block like
//
//	thresholds: { maxDeleted: 100, maxPercentDeleted: 5, maxLinkInserted: off, maxPercentUpdated: 2.5 }
//
// into Limits with no further code; they also read and write JSON numbers
// and "off". Syntax errors are reported when decoding; values out of range
// (a negative count, a percentage below 0 or over 100) by [Limits.Validate],
// all at once, each prefixed by its path in the configuration.
package threshold
