package gen

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// user is one row of users.csv with its group memberships.
type user struct {
	id          int32 // ID is "U" and id on 7 digits
	first, last uint16
	domain      uint8
	active      bool
	upper       bool // Guid is written in upper case
	org         int32
	hire        int32 // days since 1970-01-01
	salary      int64 // in cents
	guid        [16]byte
	login       string
	emailLocal  string  // Email is emailLocal@domains[domain]
	groups      []int32 // indexes into the group pool, no duplicates
}

// generator builds both versions in memory.
type generator struct {
	r                    *rand.Rand
	n                    int
	groups, orgs         int // sizes of the pools
	minGroups, maxGroups int // bounds of a user's number of groups
	current, next        []user
}

func newGenerator(opts Options) *generator {
	g := &generator{
		r:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x1d5)),
		n:      opts.N,
		groups: max(opts.N/100, 20),
		orgs:   max(opts.N/1000, 10),
	}
	spread := opts.GroupsPerUser / 2
	g.maxGroups = min(opts.GroupsPerUser+spread, g.groups)
	g.minGroups = min(opts.GroupsPerUser-spread, g.maxGroups)
	return g
}

// build generates both versions of the users and their memberships and
// returns the counts of the differences it made.
func (g *generator) build() *Expected {
	n := g.n
	deleted := percent(n, deletedPct)
	inserted := percent(n, insertedPct)
	kept := n - deleted
	updated := percent(kept, updatedPct)
	regrouped := percent(kept, membershipPct)

	// IDs are drawn from 1..n+inserted so that inserted users fall
	// anywhere in key order, not only after the current ones.
	ids := perm(g.r, n+inserted)
	groupBuf := make([]int32, 0, (n+inserted)*g.maxGroups)
	g.current = make([]user, n)
	links := 0
	for i := range g.current {
		g.current[i] = g.newUser(ids[i]+1, &groupBuf)
		links += len(g.current[i].groups)
	}

	// fate[i] of current user i: bit 1 deleted, bit 2 updated, bit 4
	// memberships changed.
	fate := make([]uint8, n)
	order := perm(g.r, n)
	for _, i := range order[:deleted] {
		fate[i] |= 1
	}
	for _, i := range order[deleted : deleted+updated] {
		fate[i] |= 2
	}
	rest := order[deleted:]
	shuffle(g.r, rest)
	for _, i := range rest[:regrouped] {
		fate[i] |= 4
	}

	var linksDeleted, linksInserted, linksRead int
	g.next = make([]user, 0, kept+inserted)
	for i, u := range g.current {
		if fate[i]&1 != 0 {
			linksDeleted += len(u.groups)
			continue
		}
		if fate[i]&2 != 0 {
			g.update(&u)
		}
		if fate[i]&4 != 0 {
			added, removed := g.regroup(&u)
			linksInserted += added
			linksDeleted += removed
		}
		linksRead += len(u.groups)
		g.next = append(g.next, u)
	}
	for _, id := range ids[n:] {
		u := g.newUser(id+1, &groupBuf)
		linksInserted += len(u.groups)
		linksRead += len(u.groups)
		g.next = append(g.next, u)
	}

	same := func(name string, n int) EntityCounts {
		return EntityCounts{Name: name, Stored: n, Read: n, Unchanged: n}
	}
	return &Expected{
		EntityTypes: []EntityCounts{
			{Name: UserType, Stored: n, Read: kept + inserted, Inserted: inserted,
				Updated: updated, Deleted: deleted, Unchanged: kept - updated},
			same(GroupType, g.groups),
			same(OrgType, g.orgs),
		},
		Associations: []AssociationCounts{
			{Name: Members, Stored: links, Read: linksRead, Inserted: linksInserted, Deleted: linksDeleted},
		},
	}
}

// Bounds of the hire dates, in days since 1970-01-01: 1990-01-01 and
// 2025-12-31.
const (
	firstHire = 7305
	lastHire  = 20453
)

// newUser returns a new random user; its groups are appended to buf.
func (g *generator) newUser(id int32, buf *[]int32) user {
	r := g.r
	u := user{
		id:     id,
		first:  uint16(r.IntN(len(firstNames))),
		last:   uint16(r.IntN(len(lastNames))),
		active: r.IntN(10) != 0,
		org:    int32(r.IntN(g.orgs)),
		hire:   int32(firstHire + r.IntN(lastHire-firstHire+1)),
		salary: 2_500_000 + r.Int64N(12_500_000),
	}
	if r.IntN(5) == 0 {
		u.salary -= u.salary % 100 // a round amount: 52340.00
	}
	if r.IntN(5) == 0 {
		u.domain = uint8(1 + r.IntN(len(domains)-1))
	}
	g.newGUID(&u)
	id10 := strconv.Itoa(int(id))
	first, last := letters(firstNames[u.first]), letters(lastNames[u.last])
	u.login = first[:1] + last + id10
	u.emailLocal = first + "." + last + id10

	// Floyd's algorithm: k distinct groups out of g.groups.
	k := g.minGroups + r.IntN(g.maxGroups-g.minGroups+1)
	start := len(*buf)
	for j := g.groups - k; j < g.groups; j++ {
		t := int32(r.IntN(j + 1))
		if slices.Contains((*buf)[start:], t) {
			t = int32(j)
		}
		*buf = append(*buf, t)
	}
	u.groups = (*buf)[start:len(*buf):len(*buf)]
	return u
}

func (g *generator) newGUID(u *user) {
	old := u.guid
	for u.guid == old {
		for i := 0; i < 16; i += 8 {
			v := g.r.Uint64()
			for j := range 8 {
				u.guid[i+j] = byte(v >> (8 * j))
			}
		}
		u.guid[6] = u.guid[6]&0x0f | 0x40 // version 4
		u.guid[8] = u.guid[8]&0x3f | 0x80 // RFC 4122 variant
	}
	u.upper = g.r.IntN(4) == 0
}

// Columns that an update may change.
const (
	colLogin = iota
	colFirstName
	colLastName
	colEmail
	colHireDate
	colActive
	colOrgCode
	colGuid
	colSalary
	nCols
)

// update changes 1 to 3 distinct non-key columns of u, each to a value
// whose canonical form differs from the old one.
func (g *generator) update(u *user) {
	r := g.r
	cols := perm(r, nCols)[:1+r.IntN(3)]
	for _, c := range cols {
		switch c {
		case colLogin:
			old := u.login
			for u.login == old {
				first, last := letters(firstNames[u.first]), letters(lastNames[u.last])
				u.login = first[:1] + last + strconv.Itoa(int(u.id)) + strconv.Itoa(1+r.IntN(9))
			}
		case colFirstName:
			u.first = uint16(other(r, int(u.first), len(firstNames)))
		case colLastName:
			u.last = uint16(other(r, int(u.last), len(lastNames)))
		case colEmail:
			u.domain = uint8(other(r, int(u.domain), len(domains)))
		case colHireDate:
			d := 1 + r.IntN(365)
			if r.IntN(2) == 0 {
				d = -d
			}
			u.hire += int32(d)
		case colActive:
			u.active = !u.active
		case colOrgCode:
			u.org = int32(other(r, int(u.org), g.orgs))
		case colGuid:
			g.newGUID(u)
		case colSalary:
			u.salary += u.salary * int64(1+r.IntN(10)) / 100
		}
	}
}

// regroup adds and/or removes 1 to 3 groups to u, never leaving its
// memberships as they were, and returns how many it added and removed.
func (g *generator) regroup(u *user) (added, removed int) {
	r := g.r
	var add, remove int
	switch r.IntN(3) {
	case 0:
		add = 1 + r.IntN(3)
	case 1:
		remove = 1 + r.IntN(3)
	default:
		add, remove = 1+r.IntN(3), 1+r.IntN(3)
	}
	remove = min(remove, len(u.groups)-1)  // keep at least one group
	add = min(add, g.groups-len(u.groups)) // only groups u is not in
	if add+remove == 0 {
		// u is in exactly one group, or in all of them (at least 20).
		if len(u.groups) == 1 {
			add = 1
		} else {
			remove = 1
		}
	}
	old := u.groups
	groups := slices.Clone(old)
	shuffle(r, groups)
	groups = groups[remove:]
	for range add {
		t := int32(r.IntN(g.groups))
		for slices.Contains(old, t) || slices.Contains(groups, t) {
			t = int32(r.IntN(g.groups))
		}
		groups = append(groups, t)
	}
	u.groups = groups
	return add, remove
}

// other returns a random integer in [0, n) other than old; n must be > 1.
func other(r *rand.Rand, old, n int) int {
	v := r.IntN(n - 1)
	if v >= old {
		v++
	}
	return v
}

// perm returns a random permutation of 0..n-1.
func perm(r *rand.Rand, n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	shuffle(r, p)
	return p
}

// shuffle puts s in random order (Fisher–Yates).
func shuffle[T any](r *rand.Rand, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// letters returns the lower-case ASCII letters of s, dropping anything else:
// "Smith, Jr." → "smithjr", "José" → "jos".
func letters(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' {
			b.WriteRune(c)
		}
	}
	return b.String()
}
