package extsort_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/idsync/idsync/internal/extsort"
)

func Example() {
	ctx := context.Background()
	// Each record is "key,value"; compare the keys only.
	byKey := func(a, b []byte) int {
		ka, _, _ := bytes.Cut(a, []byte(","))
		kb, _, _ := bytes.Cut(b, []byte(","))
		return bytes.Compare(ka, kb)
	}
	s := extsort.New(byKey, &extsort.Options{MemoryBudget: 64 << 20})
	defer s.Close()
	for _, rec := range []string{"carol,1", "alice,2", "bob,3", "alice,4"} {
		if err := s.Add(ctx, []byte(rec)); err != nil {
			log.Fatal(err)
		}
	}
	it, err := s.Sort(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer it.Close()
	for it.Next() {
		fmt.Println(string(it.Record()))
	}
	if err := it.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// alice,2
	// alice,4
	// bob,3
	// carol,1
}
