package extract_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/idsync/idsync/extract"
)

func ExampleReader() {
	const users = "\uFEFFlogin;id;email\r\n" +
		"jdoe;1;jdoe@example.com\r\n" +
		"asmith;2;\"smith, a\"\r\n"
	r, err := extract.NewCSVReader(strings.NewReader(users), "users.csv", &extract.Options{Separator: ';'})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	cols, err := r.Columns("id", "email")
	if err != nil {
		log.Fatal(err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("line %d: id=%s email=%q\n", r.Line(), rec[cols[0]], rec[cols[1]])
	}
	// Output:
	// line 2: id=1 email="jdoe@example.com"
	// line 3: id=2 email="smith, a"
}

// ReadBytes suits a scan that looks at each record and keeps little: the
// fields are not copied, so whatever outlives the record must be.
func ExampleReader_ReadBytes() {
	const members = "group,user\nadmins,jdoe\nadmins,asmith\n\"web, ops\",jdoe\n"
	r, err := extract.NewCSVReader(strings.NewReader(members), "members.csv", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	perUser := map[string]int{}
	for {
		rec, err := r.ReadBytes()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		perUser[string(rec[1])]++ // string() copies the field
	}
	fmt.Println(perUser["jdoe"], perUser["asmith"])
	// Output: 2 1
}

func ExampleReader_Columns() {
	r, err := extract.NewCSVReader(strings.NewReader("ID,Login,mail,Login\n"), "users.csv", nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = r.Columns("ID", "Login", "email")
	fmt.Println(err)
	// Output:
	// extract: users.csv: column "email" not found (did you mean "mail"?); column "Login" appears 2 times (columns 2, 4)
}

func ExampleReader_Read_errors() {
	const users = "id,name\n1,Ann\n2,Bob,extra\n3,\"Cy\"x\n4,Dan\n"
	r, err := extract.NewCSVReader(strings.NewReader(users), "users.csv", nil)
	if err != nil {
		log.Fatal(err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if errors.Is(err, extract.ErrBadRecord) {
			fmt.Println(err) // report the bad record and go on
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rec)
	}
	// Output:
	// [1 Ann]
	// extract: users.csv:3: wrong number of fields: 3, header has 2
	// extract: users.csv:4:6: extraneous or missing " in quoted-field
	// [4 Dan]
}

func ExampleWriteStructs() {
	type group struct {
		Name    string `csv:"group"`
		Members int    `csv:"members"`
	}
	w := extract.NewCSVWriter(os.Stdout, nil)
	err := extract.WriteStructs(w, []group{{"admins", 2}, {"staff, all", 40}})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// group,members
	// admins,2
	// "staff, all",40
}

func ExampleReadStructs() {
	type member struct {
		Group  string `csv:"group"`
		Member string `csv:"member"`
	}
	r, err := extract.NewCSVReader(strings.NewReader("member,group\njdoe,admins\nasmith,staff\n"), "members.csv", nil)
	if err != nil {
		log.Fatal(err)
	}
	var members []member
	if err := extract.ReadStructs(r, &members); err != nil {
		log.Fatal(err)
	}
	fmt.Println(members)
	// Output:
	// [{admins jdoe} {staff asmith}]
}
