package entitytype_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/threshold"
)

const sample = `
connectors:
  - name: SAB
    thresholds: { maxDeleted: 100, maxPercentDeleted: 5 }
    entityTypes:
      - name: SAB_User
        file: sab_users.csv
        separator: ","
        key: [id]
        thresholds: { maxDeleted: 10 }
        properties:
          - { name: id, column: ID }
          - { name: hireDate, column: HireDate, type: date, format: dd/MM/yyyy }
          - { name: active, column: Active, type: bool }
          - { name: displayName, expression: 'FirstName + " " + LastName' }
          - { name: organization, column: OrgCode, type: ref, target: HR_Org }
      - name: SAB_Group
        file: sab_groups.csv
        key: [id]
        properties: [ { name: id, column: GroupID }, { name: name, column: Name } ]
    associations:
      - name: SAB_Members
        file: sab_members.csv
        source: { entityType: SAB_Group, column: GroupID }
        target: { entityType: SAB_User, column: UserID }
  - name: HR
    entityTypes:
      - name: HR_Org
        key: [code]
        properties: [ { name: code, column: Code } ]
`

func TestLoadSample(t *testing.T) {
	cfg, err := entitytype.Load(strings.NewReader(sample))
	require.NoError(t, err)
	sab := cfg.Connector("SAB")
	require.NotNil(t, sab)
	assert.Equal(t, threshold.Max(100), sab.Thresholds.MaxDeleted)
	assert.Equal(t, threshold.Pct(5), sab.Thresholds.MaxPercentDeleted)
	u := sab.EntityType("SAB_User")
	assert.Equal(t, threshold.Max(10), u.Thresholds.MaxDeleted)
	assert.Equal(t, entitytype.Date, u.Property("hireDate").Type)
	assert.Equal(t, entitytype.Ref, u.Property("organization").Type)
	assert.Equal(t, "HR_Org", u.Property("organization").Target)
	assert.Equal(t, "SAB_Group", sab.Associations[0].Source.EntityType)
}

func TestJSONIsYAML(t *testing.T) {
	cfg, err := entitytype.Load(strings.NewReader(`{"connectors":[{"name":"A","entityTypes":[{"name":"T","key":["id"],"properties":[{"name":"id","column":"ID","type":"int"}]}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, entitytype.Int, cfg.Connectors[0].EntityTypes[0].Properties[0].Type)
}

func TestUnknownFieldNamesLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idsync.yaml")
	bad := strings.Replace(sample, "{ name: active, column: Active, type: bool }", "{ name: active, colum: Active, type: bool }", 1)
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
	_, err := entitytype.LoadFile(path)
	require.ErrorIs(t, err, entitytype.ErrInvalid)
	assert.Equal(t, `entitytype: idsync.yaml:14: unknown field "colum" in property active of SAB_User (did you mean "column"?)`, err.Error())
}

func TestValidationListsEveryProblemWithPath(t *testing.T) {
	bad := `
connectors:
  - name: SAB
    thresholds: { maxPercentDeleted: 120, maxDeleted: -1 }
    entityTypes:
      - name: SAB_User
        key: [id, missing]
        thresholds: { maxLinkDeleted: 3 }
        properties:
          - { name: id, column: ID }
          - { name: id, column: Other }
          - { name: hireDate, column: HireDate, type: date, format: dd/QQ/yyyy }
          - { name: tz, column: T, type: datetime, timeZone: Mars/Olympus }
          - { name: org, column: OrgCode, type: ref }
          - { name: both, column: X, expression: 'X' }
          - { name: none }
          - { name: bad, expression: 'a +' }
    associations:
      - name: SAB_Members
        source: { entityType: SAB_Group, column: GroupID }
        target: { entityType: SAB_User, column: "" }
`
	_, err := entitytype.Load(strings.NewReader(bad))
	require.ErrorIs(t, err, entitytype.ErrInvalid)
	var ve *entitytype.ValidationError
	require.True(t, errors.As(err, &ve))
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.String())
	}
	assert.Equal(t, []string{
		`line 4: SAB: thresholds.maxDeleted: negative count -1`,
		`line 4: SAB: thresholds.maxPercentDeleted: percentage 120 over 100`,
		`line 8: SAB.SAB_User: thresholds.maxLinkDeleted: not a limit of an entity type`,
		`line 11: SAB.SAB_User.id: name: duplicate property "id": property names are unique within an entity type`,
		`line 12: SAB.SAB_User.hireDate: format: unknown pattern letters "QQ" (quote literal text: 'text') in pattern "dd/QQ/yyyy"`,
		`line 13: SAB.SAB_User.tz: timeZone: unknown time zone "Mars/Olympus"`,
		`line 14: SAB.SAB_User.org: target: a ref property needs a target entity type`,
		`line 15: SAB.SAB_User.both: set column or expression, not both`,
		`line 16: SAB.SAB_User.none: set column (a source header) or expression`,
		"line 17: SAB.SAB_User.bad: expression: unexpected token EOF (1:3)\n | a +\n | ..^",
		`line 7: SAB.SAB_User: key: property "missing" is not defined`,
		`line 20: SAB.SAB_Members: source.entityType: unknown entity type "SAB_Group"`,
		`line 21: SAB.SAB_Members: target.column: missing column: name the header of the column holding the target's key`,
	}, got)
}

// An object without a name is named by its position; a model validated
// on its own by its connector's name.
func TestValidationPathsByNames(t *testing.T) {
	m := entitytype.Model{Name: "A", EntityTypes: []entitytype.EntityType{{Key: []string{"id"},
		Properties: []entitytype.Property{{Name: "id", Column: "ID"}, {Column: "X", Type: entitytype.Ref, Target: "Nope"}}}},
		Associations: []entitytype.Association{{Name: "L", Source: entitytype.End{EntityType: "T", Column: "S"}}}}
	err := m.Validate()
	require.ErrorIs(t, err, entitytype.ErrInvalid)
	assert.Equal(t, `entitytype: 6 problems in definition
	A.entityTypes[0]: name: missing entity type name
	A.entityTypes[0].properties[1]: name: missing property name
	A.entityTypes[0].properties[1]: target: unknown entity type "Nope"
	A.L: source.entityType: unknown entity type "T"
	A.L: target.entityType: missing entity type
	A.L: target.column: missing column: name the header of the column holding the target's key`, err.Error())
}

func TestEmptyConfig(t *testing.T) {
	_, err := entitytype.Load(strings.NewReader(""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "empty configuration")
}

// A table's file is a local name inside the input folder: a name that
// leaves it (or an absolute path, which would be joined to it) is a
// problem of the configuration, reported with its line.
func TestFileMustBeLocal(t *testing.T) {
	for _, file := range []string{"../victim.csv", "../../../../victim.csv", "/etc/passwd", "sub/../../x.csv", `"../x.csv"`} {
		t.Run(file, func(t *testing.T) {
			yamlFile := file
			if !strings.HasPrefix(file, `"`) {
				yamlFile = `"` + file + `"`
			}
			bad := strings.Replace(sample, "file: sab_groups.csv", "file: "+yamlFile, 1)
			dir := t.TempDir()
			path := filepath.Join(dir, "idsync.yaml")
			require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
			_, err := entitytype.LoadFile(path)
			require.ErrorIs(t, err, entitytype.ErrInvalid)
			var ve *entitytype.ValidationError
			require.True(t, errors.As(err, &ve))
			require.Len(t, ve.Problems, 1, "%v", ve.Problems)
			p := ve.Problems[0]
			assert.Equal(t, "SAB.SAB_Group", p.Path)
			assert.Equal(t, 18, p.Line) // the line of "file:" under SAB_Group
			want := strconv.Quote(strings.Trim(yamlFile, `"`))
			assert.Equal(t, `entitytype: idsync.yaml:18: SAB.SAB_Group: file: `+want+` must be a local name inside the input folder (relative, without ".." that leaves it)`, err.Error())
		})
	}
	bad := strings.Replace(sample, "file: sab_members.csv", "file: ../members.csv", 1)
	_, err := entitytype.Load(strings.NewReader(bad))
	require.ErrorIs(t, err, entitytype.ErrInvalid)
	assert.Equal(t, `entitytype: line 23: SAB.SAB_Members: file: "../members.csv" must be a local name inside the input folder (relative, without ".." that leaves it)`, err.Error())

	// A subfolder of the input folder is fine.
	good := strings.Replace(sample, "file: sab_groups.csv", "file: sab/groups.csv", 1)
	_, err = entitytype.Load(strings.NewReader(good))
	require.NoError(t, err)

	// A model built in Go is checked by Validate too.
	m := entitytype.Model{Name: "A", EntityTypes: []entitytype.EntityType{{Name: "T", File: "../t.csv", Key: []string{"id"},
		Properties: []entitytype.Property{{Name: "id", Column: "ID"}}}}}
	err = m.Validate()
	require.ErrorIs(t, err, entitytype.ErrInvalid)
	assert.Equal(t, `entitytype: A.T: file: "../t.csv" must be a local name inside the input folder (relative, without ".." that leaves it)`, err.Error())
}

// Every problem of a loaded configuration gives its line: the line of the
// setting, or of the nearest setting that holds a missing one.
func TestValidationProblemsHaveLines(t *testing.T) {
	bad := strings.Replace(sample, "key: [id]\n        thresholds", "key: [id, missing]\n        thresholds", 1)
	bad = strings.Replace(bad, "target: { entityType: SAB_User, column: UserID }", "target: { entityType: SAB_User }", 1)
	_, err := entitytype.Load(strings.NewReader(bad))
	var ve *entitytype.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.String())
	}
	assert.Equal(t, []string{
		`line 9: SAB.SAB_User: key: property "missing" is not defined`,
		// absent: the line of target
		`line 25: SAB.SAB_Members: target.column: missing column: name the header of the column holding the target's key`,
	}, got)
}
