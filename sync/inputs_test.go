package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// Input mistakes explain themselves: a missing mapped column is reported
// before (and instead of) the expression errors that follow from it, and a
// header read as one column says which separator was meant.
func TestInputMistakesExplainThemselves(t *testing.T) {
	const config = `
connectors:
  - name: SAB
    entityTypes:
      - name: SAB_User
        file: users.csv
        key: [id]
        properties:
          - { name: id, column: ID }
          - { name: firstName, column: FirstName }
          - { name: lastName, column: LastName }
          - { name: displayName, expression: 'FirstName + " " + LastName' }
          - { name: initials, expression: 'Initials' }
`
	tests := []struct {
		name, users, want string
	}{
		{"column renamed that an expression reads", "ID,First_Name,LastName,Initials\nU1,Ann,Smith,AS\n",
			`idsync: SAB.SAB_User: extract: DIR/users.csv: column "FirstName" not found (did you mean "First_Name"?)`},
		{"several columns missing", "ID,Given,Initials\nU1,Ann,AS\n",
			`idsync: SAB.SAB_User: extract: DIR/users.csv: column "FirstName" not found; column "LastName" not found`},
		{"semicolons read with ','", "ID;FirstName;LastName;Initials\nU1;Ann;Smith;AS\n",
			`idsync: SAB.SAB_User: extract: DIR/users.csv: the header is read as one column, "ID;FirstName;LastName;Initials": did you mean separator: ";"? (not found: "ID", "FirstName", "LastName")`},
		{"tabs read with ','", "ID\tFirstName\tLastName\tInitials\nU1\tAnn\tSmith\tAS\n",
			`idsync: SAB.SAB_User: extract: DIR/users.csv: the header is read as one column, "ID\tFirstName\tLastName\tInitials": did you mean separator: "\t"? (not found: "ID", "FirstName", "LastName")`},
		{"a column only an expression reads", "ID,FirstName,LastName\nU1,Ann,Smith\n",
			`idsync: SAB.SAB_User: DIR/users.csv: property initials: expression: unknown column "Initials" (the columns are "ID", "FirstName", "LastName") at 1:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := entitytype.Load(strings.NewReader(config))
			require.NoError(t, err)
			m := cfg.Connector("SAB")
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), []byte(tt.users), 0o644))
			_, err = idsync.Prepare(context.Background(), m, connector.Folder{Dir: dir, Model: m}, &idsync.PrepareOptions{Dir: t.TempDir()})
			require.Error(t, err)
			assert.Equal(t, tt.want, strings.ReplaceAll(err.Error(), dir, "DIR"))
		})
	}
}
