// Package entitytype describes the data model that a connector exports: entity
// types with typed properties and a key, associations (n:n links) between
// entity types, and the canonical form of every value.
//
// A definition is written in Go or loaded from YAML (see [Load]). Every value
// read from an extraction file is converted to exactly one canonical text form
// per type (see [Kind]), so that equality of canonical values is the equality
// used by the diff: "02/01/2024" read with format dd/MM/yyyy equals
// "2024-01-02" read with yyyy-MM-dd, a GUID's letter case does not matter, and
// "1" and "true" are the same bool. An empty cell is null, and null is the
// empty canonical string for every type.
package entitytype

import (
	"fmt"
	"strings"

	"github.com/idsync/idsync/threshold"
)

// Kind is the type of a property's values.
type Kind uint8

// The kinds of property. The canonical text of each is documented on it.
const (
	// String is text, kept as is (no trimming, no case folding).
	String Kind = iota + 1
	// Int is a 64-bit signed integer; canonical form: base-10 digits with an
	// optional leading '-', no leading zeros, no '+'.
	Int
	// Decimal is an exact decimal number; canonical form: base-10 with a '.'
	// decimal point, no exponent, no leading zeros, no trailing fractional
	// zeros ("1.50" → "1.5", "-0" → "0", "1e3" → "1000").
	Decimal
	// Bool is a truth value; canonical form: "true" or "false".
	Bool
	// Date is a calendar date without time of day; canonical form: yyyy-MM-dd.
	Date
	// DateTime is an instant; canonical form: RFC 3339 in UTC with the
	// fractional seconds that are not zero (2006-01-02T15:04:05.999999999Z).
	DateTime
	// GUID is a 128-bit identifier; canonical form: lower-case 8-4-4-4-12 hex.
	GUID
	// Binary is bytes written as base64; canonical form: standard padded base64.
	Binary
	// Ref is a mono-valued navigation property: the key of a resource of the
	// entity type named by Property.Target; canonical form: that key's
	// canonical form (a string key unless the target declares otherwise).
	Ref
)

var kindNames = [...]string{String: "string", Int: "int", Decimal: "decimal", Bool: "bool",
	Date: "date", DateTime: "datetime", GUID: "guid", Binary: "binary", Ref: "ref"}

// String returns the name of k as written in a configuration file.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MarshalText implements [encoding.TextMarshaler].
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]; it accepts the names
// returned by String, case-insensitively, and "" for String.
func (k *Kind) UnmarshalText(b []byte) error {
	s := strings.ToLower(string(b))
	if s == "" {
		*k = String
		return nil
	}
	for i, n := range kindNames {
		if n != "" && n == s {
			*k = Kind(i)
			return nil
		}
	}
	hint := ""
	if s := closest(kindNames[1:], string(b)); s != "" {
		hint = fmt.Sprintf("did you mean %q? ", s)
	}
	return fmt.Errorf("unknown type %q (%sthe types are %s)", string(b), hint, strings.Join(kindNames[1:], ", "))
}

// MissingPolicy says what Prepare does with a reference to a key that exists
// neither in the extraction nor in the store.
type MissingPolicy string

const (
	// Reject rejects the row holding the dangling reference (the default).
	Reject MissingPolicy = "reject"
	// Drop keeps the row and drops the link (the property becomes null).
	Drop MissingPolicy = "drop"
)

// Property maps one source column (or an expression over source columns) to
// a typed property of an entity type.
type Property struct {
	// Name is the property's name, unique within its entity type.
	Name string `yaml:"name" json:"name"`
	// Column is the header name of the source column. Columns are found by
	// name, never by position. Exactly one of Column and Expression is set.
	Column string `yaml:"column,omitempty" json:"column,omitempty"`
	// Expression computes the value from the row's source columns, written
	// in the expr language (github.com/expr-lang/expr), e.g.
	// `FirstName + " " + LastName`. Source columns are variables named after
	// their headers, holding strings; the result is converted like a raw
	// value of Type.
	Expression string `yaml:"expression,omitempty" json:"expression,omitempty"`
	// Type is the kind of values; String when zero.
	Type Kind `yaml:"type,omitempty" json:"type,omitempty"`
	// Format tells how raw values are written. For Date and DateTime: a
	// pattern such as yyyy-MM-dd, dd/MM/yyyy or yyyyMMddHHmmss, or one of the
	// encodings "ldap" (generalized time, 20240102150405.0Z) and "filetime"
	// (Windows FILETIME, 100 ns ticks since 1601), "rfc3339", "unix",
	// "unixms", and "excel" (serial day number). Empty means ISO 8601.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// TimeZone is the IANA zone in which a DateTime without an explicit
	// offset is read ("Europe/Paris"); UTC when empty.
	TimeZone string `yaml:"timeZone,omitempty" json:"timeZone,omitempty"`
	// TrueValues and FalseValues replace the default bool spellings
	// (true/false, 1/0, yes/no, y/n, t/f, on/off; compared case-insensitively).
	TrueValues  []string `yaml:"trueValues,omitempty" json:"trueValues,omitempty"`
	FalseValues []string `yaml:"falseValues,omitempty" json:"falseValues,omitempty"`
	// MultiValued makes the property a set of values separated by Separator
	// in the raw text; its canonical form is the canonical values, sorted,
	// without duplicates, joined by [MultiSep].
	MultiValued bool `yaml:"multiValued,omitempty" json:"multiValued,omitempty"`
	// Separator splits a multi-valued raw value; "|" when empty.
	Separator string `yaml:"separator,omitempty" json:"separator,omitempty"`
	// Target is the entity type referenced by a Ref property. It may belong
	// to another connector, written "Connector.EntityType" or just the
	// entity type's name when names are unique.
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// OnMissing says what to do with a Ref value naming no known resource.
	OnMissing MissingPolicy `yaml:"onMissing,omitempty" json:"onMissing,omitempty"`
}

// KeySep joins the canonical values of a composite key into one key string,
// in the order of EntityType.Key. Key values must not contain it.
const KeySep = "\x1f"

// MultiSep separates the values of a multi-valued property in its canonical
// form (the ASCII unit separator, which never occurs in sane text).
const MultiSep = "\x1f"

// EntityType is a kind of resource that a connector exports: users, groups,
// organizations, accounts.
type EntityType struct {
	// Name identifies the entity type; unique across all connectors.
	Name string `yaml:"name" json:"name"`
	// File is the extraction file's name in the input folder, for
	// file-based connectors; ".xlsx" files are read as spreadsheets,
	// anything else as CSV. Name + ".csv" when empty. It must be a local
	// name inside the input folder (filepath.IsLocal): relative, without
	// ".." that leaves the folder; a subfolder is allowed.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// Sheet is the XLSX sheet to read; the first sheet when empty.
	Sheet string `yaml:"sheet,omitempty" json:"sheet,omitempty"`
	// Separator is the CSV field separator; "," when empty.
	Separator string `yaml:"separator,omitempty" json:"separator,omitempty"`
	// Key names the properties that identify a resource (several for a
	// composite key). Key properties are never null.
	Key []string `yaml:"key" json:"key"`
	// Properties are the mapped properties. Source columns that no property
	// maps are ignored.
	Properties []Property `yaml:"properties" json:"properties"`
	// CommandColumn, when set, names a column of File holding insert,
	// update, delete or merge: the file is then a delta (an incremental
	// export). Like File and Separator it describes the file, for
	// file-based connectors (connector.Folder returns such a file as a
	// connector.DeltaTable); the engine learns whether a table is a delta
	// from the extraction, never from the model.
	CommandColumn string `yaml:"commandColumn,omitempty" json:"commandColumn,omitempty"`
	// Thresholds are this entity type's limits; zero values mean "not set
	// here", the connector's limits apply.
	Thresholds threshold.Limits `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
}

// Property returns the property named name, or nil.
func (t *EntityType) Property(name string) *Property {
	for i := range t.Properties {
		if t.Properties[i].Name == name {
			return &t.Properties[i]
		}
	}
	return nil
}

// End is one side of an association: an entity type and the column holding
// that entity type's key.
type End struct {
	// EntityType names the entity type on this side.
	EntityType string `yaml:"entityType" json:"entityType"`
	// Column is the header of the column holding the key.
	Column string `yaml:"column" json:"column"`
	// Separator makes the column multi-valued: several keys in one cell.
	// Only the target side of an Inline association may be multi-valued.
	Separator string `yaml:"separator,omitempty" json:"separator,omitempty"`
}

// Association is an n:n link between two entity types (group members, user
// roles), read from its own table (one row per link, e.g. members.csv with
// a group column and a member column) or, when Inline is set, from a
// (multi-valued) column of the source entity type's table.
type Association struct {
	// Name identifies the association; unique across all connectors.
	Name string `yaml:"name" json:"name"`
	// File is the association's extraction file, for file-based
	// connectors; Name + ".csv" when empty. It must be a local name
	// inside the input folder, as [EntityType.File].
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// Inline reads the links from the source entity type's table: each row
	// links the row's resource to the keys in Target.Column (several when
	// Target.Separator is set). Source.Column then names that table's
	// column holding the source key.
	Inline bool `yaml:"inline,omitempty" json:"inline,omitempty"`
	// Sheet is the XLSX sheet to read; the first sheet when empty.
	Sheet string `yaml:"sheet,omitempty" json:"sheet,omitempty"`
	// Separator is the CSV field separator; "," when empty.
	Separator string `yaml:"separator,omitempty" json:"separator,omitempty"`
	// Source and Target are the two ends of each link.
	Source End `yaml:"source" json:"source"`
	Target End `yaml:"target" json:"target"`
	// OnMissing says what to do with a link naming no known resource:
	// Reject (default) reports it as a rejected row; Drop reports nothing.
	OnMissing MissingPolicy `yaml:"onMissing,omitempty" json:"onMissing,omitempty"`
	// CommandColumn, when set, makes File a delta (see EntityType).
	CommandColumn string `yaml:"commandColumn,omitempty" json:"commandColumn,omitempty"`
	// Thresholds are this association's link limits.
	Thresholds threshold.Limits `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
}

// Model is the data model of one connector: its entity types, its
// associations and its connector-level thresholds.
type Model struct {
	// Name is the connector's name ("SAB", "HR").
	Name string `yaml:"name" json:"name"`
	// Disabled leaves the connector out of jobs until it is re-activated.
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Thresholds are the connector-level limits; unset limits take the
	// defaults of package threshold.
	Thresholds threshold.Limits `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
	// EntityTypes and Associations are what the connector exports.
	EntityTypes  []EntityType  `yaml:"entityTypes" json:"entityTypes"`
	Associations []Association `yaml:"associations,omitempty" json:"associations,omitempty"`
}

// EntityType returns the entity type named name, or nil.
func (m *Model) EntityType(name string) *EntityType {
	for i := range m.EntityTypes {
		if m.EntityTypes[i].Name == name {
			return &m.EntityTypes[i]
		}
	}
	return nil
}

// Config is a whole configuration file: the models of one or more connectors.
type Config struct {
	Connectors []Model `yaml:"connectors" json:"connectors"`
}

// Connector returns the model of the connector named name, or nil.
func (c *Config) Connector(name string) *Model {
	for i := range c.Connectors {
		if c.Connectors[i].Name == name {
			return &c.Connectors[i]
		}
	}
	return nil
}
