package sync_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/idsync/idsync/connector/memconn"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

// state is a random extraction of the SAB model: users by key, and
// membership links.
type state struct {
	users   map[string][]string // key → Name, HireDate (dd/MM/yyyy), Active, Org
	links   map[[2]string]bool  // group, user
	invalid map[string]bool     // users whose row has an unconvertible date
}

func genState(t *rapid.T, label string) state {
	s := state{users: map[string][]string{}, links: map[[2]string]bool{}, invalid: map[string]bool{}}
	keys := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"U1", "U2", "U3", "U4", "U5", "U6", "U7", "u1", "U10", "Ü"}), 1, 10, rapid.ID[string]).Draw(t, label+"users")
	for _, k := range keys {
		s.users[k] = []string{
			rapid.SampledFrom([]string{"Ann", "Bob", "", "Zoë, Jr.", `say "hi"`}).Draw(t, label+"name"),
			fmt.Sprintf("%02d/01/2024", rapid.IntRange(1, 3).Draw(t, label+"day")),
			rapid.SampledFrom([]string{"Y", "N", "1", "true", "no"}).Draw(t, label+"active"),
			rapid.SampledFrom([]string{"O1", "O2", ""}).Draw(t, label+"org"),
		}
		if rapid.IntRange(0, 9).Draw(t, label+"invalid") == 0 {
			s.invalid[k] = true
		}
		for _, g := range []string{"G1", "G2"} {
			if rapid.Bool().Draw(t, label+"member") {
				s.links[[2]string{g, k}] = true
			}
		}
	}
	return s
}

func (s state) load(c *memconn.Connector) {
	var rows [][]string
	for _, k := range slices.Sorted(maps.Keys(s.users)) {
		v := s.users[k]
		date := v[1]
		if s.invalid[k] {
			date = "31/02/2024"
		}
		rows = append(rows, []string{k, v[0], date, v[2], v[3]})
	}
	c.Set("SAB_User", userHeader, rows...)
	c.Set("SAB_Org", []string{"Code", "Label"}, []string{"O1", "Sales"}, []string{"O2", "IT"})
	c.Set("SAB_Group", []string{"GroupID", "Name"}, []string{"G1", "All"}, []string{"G2", "Admins"})
	var links [][]string
	for l := range s.links {
		links = append(links, []string{l[0], l[1]})
	}
	c.Set("SAB_Members", []string{"GroupID", "UserID"}, links...)
}

func canonBool(s string) string {
	if s == "Y" || s == "1" || s == "true" {
		return "true"
	}
	return "false"
}

// TestDiffApplyGivesNew checks, for random current and new extractions,
// that applying diff(current, new) to current gives new; that rows which
// do not convert protect their stored resource and its links; and that
// planning the same inputs twice gives the same change set hash.
func TestDiffApplyGivesNew(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		a, b := genState(t, "a"), genState(t, "b")
		clear(a.invalid)
		store := memstore.New()
		eng := idsync.New(store, &idsync.Options{WorkDir: tempDir(t)})
		conn := memconn.New(open(sabModel()))
		a.load(conn)
		if _, err := eng.Run(ctx, conn, &idsync.RunOptions{AllowEmpty: true}); err != nil {
			t.Fatalf("load a: %v", err)
		}
		b.load(conn)
		all := &idsync.RunOptions{AllowEmpty: true}
		p1, err := eng.Plan(ctx, conn, all)
		if err != nil {
			t.Fatalf("plan: %v", err)
		}
		p2, err := eng.Plan(ctx, conn, all)
		if err != nil || p1.ChangeSetHash != p2.ChangeSetHash {
			t.Fatalf("plans of equal inputs differ: %s %s %v", p1.ChangeSetHash, p2.ChangeSetHash, err)
		}
		if _, err := eng.Run(ctx, conn, &idsync.RunOptions{AllowEmpty: true}); err != nil {
			t.Fatalf("apply b: %v", err)
		}
		for _, k := range slices.Sorted(maps.Keys(mergeKeys(a.users, b.users))) {
			got := store.Get("SAB_User", k)
			want, src := b.users[k], "b"
			if b.invalid[k] {
				want, src = a.users[k], "a (protected)"
			}
			if want == nil {
				if got != nil {
					t.Fatalf("%s: stored %v, want deleted", k, got)
				}
				continue
			}
			exp := map[string]string{"id": k, "name": want[0], "hireDate": "2024-01-" + want[1][:2], "active": canonBool(want[2]), "org": want[3]}
			maps.DeleteFunc(exp, func(_, v string) bool { return v == "" })
			if !maps.Equal(got, exp) {
				t.Fatalf("%s: stored %v, want %v from %s", k, got, exp, src)
			}
		}
		for _, g := range []string{"G1", "G2"} {
			for k := range mergeKeys(a.users, b.users) {
				l := [2]string{g, k}
				want := b.links[l]
				if b.invalid[k] {
					want = a.links[l]
				}
				if store.HasLink("SAB_Members", g, k) != want {
					t.Fatalf("link %v: stored %v, want %v", l, !want, want)
				}
			}
		}
		// diff(x, x) is empty.
		again, err := eng.Plan(ctx, conn, &idsync.RunOptions{AllowEmpty: true})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := again.ChangeSet()
		if err != nil || cs.Len() != 0 {
			t.Fatalf("diff of the applied state is not empty: %d changes, %v", cs.Len(), err)
		}
	})
}

func mergeKeys(a, b map[string][]string) map[string][]string {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

var tempDirs int

func tempDir(t *rapid.T) string {
	tempDirs++
	return fmt.Sprintf("%s/%d", baseTemp, tempDirs)
}
