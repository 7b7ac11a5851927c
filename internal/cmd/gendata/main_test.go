package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunJSON(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	require.NoError(t, run([]string{"-n", "500", "-out", dir, "-seed", "3", "-groups-per-user", "4", "-json"}, &stdout, &stderr))
	saved, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	require.NoError(t, err)
	assert.JSONEq(t, string(saved), stdout.String())
	assert.Equal(t, 1, strings.Count(stdout.String(), "\n"), "one JSON object on one line")

	var got struct {
		EntityTypes []struct {
			Name                                                string
			Stored, Read, Inserted, Updated, Deleted, Unchanged int
		}
		Associations []struct {
			Name                            string
			Stored, Read, Inserted, Deleted int
		}
	}
	require.NoError(t, json.Unmarshal(saved, &got))
	require.Len(t, got.EntityTypes, 3)
	assert.Equal(t, "GEN_User", got.EntityTypes[0].Name)
	assert.Equal(t, 500, got.EntityTypes[0].Stored)
	require.Len(t, got.Associations, 1)
	assert.Equal(t, "GEN_Members", got.Associations[0].Name)
	for _, key := range []string{`"entityTypes"`, `"associations"`, `"stored"`, `"read"`,
		`"inserted"`, `"updated"`, `"deleted"`, `"unchanged"`, `"name"`} {
		assert.Contains(t, string(saved), key)
	}
	for _, f := range []string{"idsync.yaml", "current/users.csv", "new/members.csv"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
}

func TestRunText(t *testing.T) {
	var stdout, stderr strings.Builder
	require.NoError(t, run([]string{"-n", "100", "-out", t.TempDir()}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "GEN_User")
	assert.Contains(t, stdout.String(), "GEN_Members")
	assert.Contains(t, stderr.String(), "gendata: wrote")
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"-n", "10"}, {"-out", t.TempDir(), "-n", "0"}, {"-bogus"}} {
		var stdout, stderr strings.Builder
		assert.Error(t, run(args, &stdout, &stderr), "%q", args)
	}
}
