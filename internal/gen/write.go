package gen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Headers of the generated files.
const (
	usersHeader   = "ID,Login,FirstName,LastName,Email,HireDate,Active,OrgCode,Guid,Salary\n"
	membersHeader = "GroupID,UserID\n"
	groupsHeader  = "GroupID,Name\n"
	orgsHeader    = "OrgCode,Name\n"
)

var firstNames = []string{
	"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
	"William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
	"Thomas", "Sarah", "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa",
	"Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra", "Pierre", "Marie",
	"Jean", "Camille", "Lucas", "Chloé", "Hugo", "Léa", "Louis", "Manon",
	"Mary-Jane", `William "Bill"`, "Anne Marie", "Zoë",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
	"Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
	"Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Dupont", "Durand",
	"Lefèvre", "Moreau", "Laurent", "Simon", "Michel", "Garnier", "Doe", "Kowalski",
	"O'Brien", "D'Angelo", "Smith, Jr.", "King, III", "van der Berg",
}

var domains = []string{"example.com", "corp.example.com", "example.org", "mail.example.net"}

var departments = []string{
	"Finance", "Human Resources", "Sales", "Marketing", "Engineering", "Operations",
	"Legal", "Procurement", "Support", "Research",
}

var regions = []string{"EMEA", "Americas", "APAC", "France", "Germany", "UK"}

var applications = []string{"SAP", "Salesforce", "Workday", "Jira", "GitHub", "AD", "ServiceNow", "Oracle"}

var roles = []string{"Users", "Approvers", "Admins", "Readers", "Auditors"}

// appendPadded appends prefix and n ≥ 0 in decimal, left-padded with zeros
// to width digits.
func appendPadded(b []byte, prefix string, n int, width int) []byte {
	b = append(b, prefix...)
	digits := 1
	for v := n; v >= 10; v /= 10 {
		digits++
	}
	width = max(width, digits)
	b = slices.Grow(b, width)
	start := len(b)
	b = b[:start+width]
	for i := start + width - 1; i >= start; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

func appendUserID(b []byte, id int32) []byte { return appendPadded(b, "U", int(id), 7) }
func appendGroupID(b []byte, g int32) []byte { return appendPadded(b, "G", int(g)+1, 5) }
func appendOrgCode(b []byte, o int32) []byte { return appendPadded(b, "ORG", int(o)+1, 4) }

// appendField appends s as a CSV field, quoted when it must be (the rules
// of encoding/csv's Writer).
func appendField(b []byte, s string) []byte {
	if !needsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := range len(s) {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func needsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' || s == `\.` {
		return true
	}
	for i := range len(s) {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// The names as CSV fields, quoted when needed.
var (
	firstNamesCSV = csvFields(firstNames)
	lastNamesCSV  = csvFields(lastNames)
)

func csvFields(names []string) []string {
	fields := make([]string, len(names))
	for i, s := range names {
		fields[i] = string(appendField(nil, s))
	}
	return fields
}

// appendDate appends days since 1970-01-01 as dd/MM/yyyy.
func appendDate(b []byte, days int32) []byte {
	y, m, d := time.Unix(int64(days)*86400, 0).UTC().Date()
	b = appendPadded(b, "", d, 2)
	b = appendPadded(b, "/", int(m), 2)
	return appendPadded(b, "/", y, 4)
}

// appendGUID appends g as 8-4-4-4-12 hex digits.
func appendGUID(b []byte, g [16]byte, upper bool) []byte {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	for i, c := range g {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return b
}

// appendCents appends an amount in cents with two decimals: 52340.50.
func appendCents(b []byte, cents int64) []byte {
	b = strconv.AppendInt(b, cents/100, 10)
	return appendPadded(b, ".", int(cents%100), 2)
}

// appendUser appends u as a row of users.csv.
func appendUser(b []byte, u *user) []byte {
	b = appendUserID(b, u.id)
	b = append(b, ',')
	b = append(b, u.login...) // only letters and digits
	b = append(b, ',')
	b = append(b, firstNamesCSV[u.first]...)
	b = append(b, ',')
	b = append(b, lastNamesCSV[u.last]...)
	b = append(b, ',')
	b = append(b, u.emailLocal...)
	b = append(b, '@')
	b = append(b, domains[u.domain]...)
	b = append(b, ',')
	b = appendDate(b, u.hire)
	if u.active {
		b = append(b, ",Y,"...)
	} else {
		b = append(b, ",N,"...)
	}
	b = appendOrgCode(b, u.org)
	b = append(b, ',')
	b = appendGUID(b, u.guid, u.upper)
	b = append(b, ',')
	b = appendCents(b, u.salary)
	return append(b, '\n')
}

// writeFile creates path and writes header then the rows that row appends,
// for i in [0, n), through a large buffer.
func writeFile(path, header string, n int, row func(b []byte, i int) []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	w := bufio.NewWriterSize(f, 4<<20)
	w.WriteString(header)
	for i := range n {
		// Appending to the writer's free space saves a copy; Write copes
		// when the row does not fit. A write error sticks: Flush returns it.
		w.Write(row(w.AvailableBuffer(), i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("gen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	return nil
}

// writeUsers writes users in random order.
func writeUsers(path string, users []user, r *rand.Rand) error {
	order := perm(r, len(users))
	return writeFile(path, usersHeader, len(users), func(b []byte, i int) []byte {
		return appendUser(b, &users[order[i]])
	})
}

// writeMembers writes the memberships of users in random order.
func writeMembers(path string, users []user, r *rand.Rand) error {
	n := 0
	for i := range users {
		n += len(users[i].groups)
	}
	// A link is the group's index in the high half, the user's ID in the
	// low one.
	links := make([]uint64, 0, n)
	for i := range users {
		for _, g := range users[i].groups {
			links = append(links, uint64(g)<<32|uint64(users[i].id))
		}
	}
	shuffle(r, links)
	return writeFile(path, membersHeader, len(links), func(b []byte, i int) []byte {
		b = appendGroupID(b, int32(links[i]>>32))
		b = append(b, ',')
		b = appendUserID(b, int32(uint32(links[i])))
		return append(b, '\n')
	})
}

// writeGroups writes the same groups.csv, listing n groups in random order,
// into each of dirs.
func writeGroups(n int, r *rand.Rand, dirs ...string) error {
	order := perm(r, n)
	for _, dir := range dirs {
		err := writeFile(filepath.Join(dir, "groups.csv"), groupsHeader, n, func(b []byte, i int) []byte {
			g := int(order[i])
			b = appendGroupID(b, int32(g))
			b = append(b, ',')
			b = append(b, applications[g%len(applications)]...)
			b = append(b, ' ')
			b = append(b, roles[g%len(roles)]...)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(g+1), 10)
			return append(b, '\n')
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// writeOrgs writes the same orgs.csv, listing n organizations in random
// order, into each of dirs. Their names hold a comma, so they are quoted.
func writeOrgs(n int, r *rand.Rand, dirs ...string) error {
	order := perm(r, n)
	for _, dir := range dirs {
		err := writeFile(filepath.Join(dir, "orgs.csv"), orgsHeader, n, func(b []byte, i int) []byte {
			o := int(order[i])
			b = appendOrgCode(b, int32(o))
			name := fmt.Sprintf("%s, %s %d", departments[o%len(departments)],
				regions[o%len(regions)], o+1)
			b = append(b, ',')
			b = appendField(b, name)
			return append(b, '\n')
		})
		if err != nil {
			return err
		}
	}
	return nil
}
