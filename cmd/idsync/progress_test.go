package main

import (
	"testing"

	idsync "github.com/idsync/idsync/sync"
)

func TestDescribeProgress(t *testing.T) {
	for _, c := range []struct {
		e    idsync.Progress
		want string
	}{
		{idsync.Progress{Step: "export", Total: -1}, ""},
		{idsync.Progress{Step: "prepare", Name: "U", Done: 4096, Total: -1}, "  4,096 rows"},
		{idsync.Progress{Step: "prepare", Name: "U", Done: 4096, Total: -1, Bytes: 250, Size: 1000}, "  4,096 rows (25 %)"},
		{idsync.Progress{Step: "diff", Name: "U", Done: 8192, Total: -1}, "  8,192 keys"},
		{idsync.Progress{Step: "apply", Done: 1500, Total: 3000}, "  1,500 of 3,000 changes (50 %)"},
		{idsync.Progress{Step: "apply", Done: 0, Total: 0}, ""},
	} {
		if got := describe(c.e, c.e.Done); got != c.want {
			t.Errorf("describe(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
}
