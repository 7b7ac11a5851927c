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
	require.Error(t, err)
	assert.Contains(t, err.Error(), "idsync.yaml")
	assert.Contains(t, err.Error(), "line 14")
	assert.Contains(t, err.Error(), "colum")
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
	paths := map[string]bool{}
	for _, p := range ve.Problems {
		paths[p.Path] = true
	}
	for _, want := range []string{
		"connectors[0].thresholds.maxPercentDeleted",
		"connectors[0].thresholds.maxDeleted",
		"connectors[0].entityTypes[0].key[1]",
		"connectors[0].entityTypes[0].thresholds.maxLinkDeleted",
		"connectors[0].entityTypes[0].properties[1].name",
		"connectors[0].entityTypes[0].properties[2].format",
		"connectors[0].entityTypes[0].properties[3].timeZone",
		"connectors[0].entityTypes[0].properties[4].target",
		"connectors[0].entityTypes[0].properties[5]",
		"connectors[0].entityTypes[0].properties[6]",
		"connectors[0].entityTypes[0].properties[7].expression",
		"connectors[0].associations[0].source.entityType",
		"connectors[0].associations[0].target.column",
	} {
		assert.True(t, paths[want], "missing problem at %s; got %v", want, ve.Problems)
	}
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
			assert.Equal(t, "connectors[0].entityTypes[1].file", p.Path)
			assert.Equal(t, 18, p.Line) // the line of "file:" under SAB_Group
			want := strconv.Quote(strings.Trim(yamlFile, `"`))
			assert.Contains(t, err.Error(), `idsync.yaml:18: connectors[0].entityTypes[1].file: entity type SAB_Group: file `+want+` must be a local name inside the input folder`)
		})
	}
	bad := strings.Replace(sample, "file: sab_members.csv", "file: ../members.csv", 1)
	_, err := entitytype.Load(strings.NewReader(bad))
	require.ErrorIs(t, err, entitytype.ErrInvalid)
	assert.Contains(t, err.Error(), `line 23: connectors[0].associations[0].file: association SAB_Members: file "../members.csv" must be a local name inside the input folder`)

	// A subfolder of the input folder is fine.
	good := strings.Replace(sample, "file: sab_groups.csv", "file: sab/groups.csv", 1)
	_, err = entitytype.Load(strings.NewReader(good))
	require.NoError(t, err)

	// A model built in Go is checked by Validate too.
	m := entitytype.Model{Name: "A", EntityTypes: []entitytype.EntityType{{Name: "T", File: "../t.csv", Key: []string{"id"},
		Properties: []entitytype.Property{{Name: "id", Column: "ID"}}}}}
	err = m.Validate()
	require.ErrorIs(t, err, entitytype.ErrInvalid)
	assert.Contains(t, err.Error(), `connector.entityTypes[0].file: entity type T: file "../t.csv" must be a local name`)
}

// Every problem of a loaded configuration gives its line: the line of the
// setting, or of the nearest setting that holds a missing one.
func TestValidationProblemsHaveLines(t *testing.T) {
	bad := strings.Replace(sample, "key: [id]\n        thresholds", "key: [id, missing]\n        thresholds", 1)
	bad = strings.Replace(bad, "target: { entityType: SAB_User, column: UserID }", "target: { entityType: SAB_User }", 1)
	_, err := entitytype.Load(strings.NewReader(bad))
	var ve *entitytype.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	lines := map[string]int{}
	for _, p := range ve.Problems {
		lines[p.Path] = p.Line
	}
	assert.Equal(t, map[string]int{
		"connectors[0].entityTypes[0].key[1]":         9,
		"connectors[0].associations[0].target.column": 25, // absent: the line of target
	}, lines)
}
