package main

import (
	"context"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	for _, store := range []string{"", "mem:"} {
		var out strings.Builder
		if err := run(context.Background(), "../sab", store, &out); err != nil {
			t.Fatalf("store %q: %v", store, err)
		}
		for _, want := range []string{
			"HR: 5 inserts > maxPercentInserted 5 % of 0 stored (0)",
			"SAB: 66 inserts > maxPercentInserted 5 % of 0 stored (0)",
			"SAB_User     stored  60  read  60  rejected 0  inserted   1  updated 2  deleted 1",
			"SAB_Members  stored 136  read 137  rejected 0  links inserted   3  deleted 2",
			"SAB_User U0061: Manon Bernard, hired 2026-11-02, organization ORG02",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("store %q: output lacks %q:\n%s", store, want, out.String())
			}
		}
	}
}
