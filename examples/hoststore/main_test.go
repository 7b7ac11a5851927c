package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `first load: succeeded
  HR_User    3 inserted, 0 updated, 0 deleted
  HR_Team    1 inserted, 0 updated, 0 deleted
  HR_Members 2 inserted, 0 deleted
next day: succeeded
  HR_User    0 inserted, 1 updated, 1 deleted
  HR_Team    0 inserted, 0 updated, 0 deleted
  HR_Members 0 inserted, 1 deleted
HR_User u2: Bob Stone-Martin, hired 2022-11-15, version 2
HR_User u3 stored: false; ops has u1: true; fingerprint of HR: <repo>/2
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
