package sync_test

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

var baseTemp string

func TestMain(m *testing.M) {
	// Runs log through slog; keep test output readable.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	dir, err := os.MkdirTemp("", "idsync-sync-test-*")
	if err != nil {
		panic(err)
	}
	baseTemp = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
