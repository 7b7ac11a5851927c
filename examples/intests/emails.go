package intests

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// Mailbox is the mailbox of one person.
type Mailbox struct {
	Person  string // the person's key in HR
	Address string
}

// people is what ProvisionEmails reads of the HR people: Store.Resources
// returns the values of exactly these properties, in this order.
var people = &entitytype.EntityType{Name: "HR_Person", Properties: []entitytype.Property{
	{Name: "firstName"}, {Name: "lastName"}, {Name: "active"},
}}

// ProvisionEmails returns the mailboxes of the active people of HR,
// ordered by person key: first.last@example.com, with a number added when
// the address is taken by a person of a smaller key (ann.lee2@...).
func ProvisionEmails(ctx context.Context, store idsync.Store) ([]Mailbox, error) {
	var active []idsync.Record
	for r, err := range store.Resources(ctx, people) {
		if err != nil {
			return nil, err
		}
		if r.Values[2] == "true" {
			active = append(active, r)
		}
	}
	slices.SortFunc(active, func(a, b idsync.Record) int { return cmp.Compare(a.Key, b.Key) })

	taken := map[string]int{}
	var boxes []Mailbox
	for _, r := range active {
		local := localPart(r.Values[0]) + "." + localPart(r.Values[1])
		taken[local]++
		if n := taken[local]; n > 1 {
			local += strconv.Itoa(n)
		}
		boxes = append(boxes, Mailbox{Person: r.Key, Address: local + "@example.com"})
	}
	return boxes, nil
}

// localPart lowercases a name and joins its words with hyphens.
func localPart(name string) string {
	return strings.Join(strings.Fields(strings.ToLower(name)), "-")
}
