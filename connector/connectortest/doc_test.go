package connectortest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/idsync/idsync/connector/connectortest"
)

// TestDocListsEveryClause keeps the package doc true: it lists every
// clause that Run runs, in order.
func TestDocListsEveryClause(t *testing.T) {
	src, err := os.ReadFile("connectortest.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, at := string(src), 0
	for _, c := range connectortest.Clauses() {
		i := strings.Index(doc[at:], "//   - "+c+" ")
		if i < 0 {
			i = strings.Index(doc[at:], "//   - "+c+":")
		}
		if i < 0 {
			t.Errorf("the package doc does not list clause %s (after the ones before it)", c)
			continue
		}
		at += i
	}
}
