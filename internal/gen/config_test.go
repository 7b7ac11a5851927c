package gen_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/gen"
)

func TestConfigLoads(t *testing.T) {
	dir := t.TempDir()
	_, err := gen.Generate(dir, gen.Options{N: 10, Seed: 1})
	require.NoError(t, err)
	cfg, err := entitytype.LoadFile(filepath.Join(dir, gen.ConfigFile))
	require.NoError(t, err)

	m := cfg.Connector(gen.Connector)
	require.NotNil(t, m)
	users := m.EntityType(gen.UserType)
	require.NotNil(t, users)
	assert.Equal(t, "users.csv", users.File)
	assert.Equal(t, []string{"id"}, users.Key)
	var columns []string
	for _, p := range users.Properties {
		columns = append(columns, p.Column)
	}
	assert.Equal(t, files["users.csv"], columns)
	assert.Equal(t, entitytype.Date, users.Property("hireDate").Type)
	assert.Equal(t, "dd/MM/yyyy", users.Property("hireDate").Format)
	assert.Equal(t, entitytype.Bool, users.Property("active").Type)
	assert.Equal(t, entitytype.Ref, users.Property("organization").Type)
	assert.Equal(t, gen.OrgType, users.Property("organization").Target)
	assert.Equal(t, entitytype.GUID, users.Property("guid").Type)
	assert.Equal(t, entitytype.Decimal, users.Property("salary").Type)
	require.NotNil(t, m.EntityType(gen.GroupType))
	require.NotNil(t, m.EntityType(gen.OrgType))

	require.Len(t, m.Associations, 1)
	a := m.Associations[0]
	assert.Equal(t, gen.Members, a.Name)
	assert.Equal(t, "members.csv", a.File)
	assert.Equal(t, entitytype.End{EntityType: gen.GroupType, Column: "GroupID"}, a.Source)
	assert.Equal(t, entitytype.End{EntityType: gen.UserType, Column: "UserID"}, a.Target)
}

// TestConfigConverts checks that every user value converts with the
// configured types, to the canonical form the naive diff of gen_test
// computes.
func TestConfigConverts(t *testing.T) {
	dir := t.TempDir()
	_, err := gen.Generate(dir, gen.Options{N: 300, Seed: 1})
	require.NoError(t, err)
	cfg, err := entitytype.LoadFile(filepath.Join(dir, gen.ConfigFile))
	require.NoError(t, err)
	users := cfg.Connector(gen.Connector).EntityType(gen.UserType)
	convs := make([]*entitytype.Converter, len(users.Properties))
	for i := range users.Properties {
		convs[i], err = entitytype.NewConverter(&users.Properties[i])
		require.NoError(t, err)
	}
	for _, version := range []string{gen.CurrentDir, gen.NewDir} {
		for _, row := range readCSV(t, filepath.Join(dir, version, "users.csv")) {
			want := canonical(t, row)
			for i, c := range convs[1:] {
				got, err := c.Convert(row[i+1])
				require.NoError(t, err, "%s of %s", files["users.csv"][i+1], row[0])
				assert.Equal(t, want[i], got, "%s of %s", files["users.csv"][i+1], row[0])
			}
		}
	}
}
