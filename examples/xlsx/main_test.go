package main

import (
	"context"
	"log"
	"os"
)

func Example() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// run succeeded
	//   Payroll_Employee    3 read, 3 inserted, 0 rejected
	//   Payroll_Team        2 read, 2 inserted, 0 rejected
	//   Payroll_TeamMembers 3 read, 3 inserted, 0 rejected
	// employee 1002: Bob Stone, hired 2024-01-02, full time false, salary 31000
}
