package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/rec"
	"github.com/idsync/idsync/threshold"
)

// Op is the operation of a change.
type Op uint8

// The operations. The letters are also the commands accepted in a command
// column (insert, update, delete, merge) where they make sense.
const (
	Insert Op = 'I'
	Update Op = 'U'
	Delete Op = 'D'
	// Merge is an incremental command: insert the resource, or update it
	// if it is stored. It never appears in a ChangeSet.
	Merge Op = 'M'
)

// String returns "insert", "update", "delete" or "merge".
func (o Op) String() string {
	switch o {
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Merge:
		return "merge"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// ParseOp reads a command column value (case-insensitive).
func ParseOp(s string) (Op, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "insert", "i":
		return Insert, true
	case "update", "u":
		return Update, true
	case "delete", "d":
		return Delete, true
	case "merge", "m", "upsert":
		return Merge, true
	}
	return 0, false
}

// PropertyChange is one property of a resource change: its old and new
// canonical values ("" for null). An insert lists its non-null properties
// with Old "", a delete its non-null stored properties with New "".
type PropertyChange struct {
	Name string `json:"name"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// ResourceChange is the insert, update or delete of one resource.
type ResourceChange struct {
	Op    Op               `json:"op"`
	Key   string           `json:"key"`
	Props []PropertyChange `json:"props,omitempty"`
}

// LinkChange is the insert or delete of one link.
type LinkChange struct {
	Op     Op     `json:"op"`
	Source string `json:"source"`
	Target string `json:"target"`
}

// Hint describes which properties a share of an entity type's updates
// touch, e.g. "98 % of 20,000 updates change only hireDate": a format
// change or two swapped headers shows up exactly so.
type Hint struct {
	// Properties is the exact set of properties the updates change.
	Properties []string `json:"properties"`
	// Count is the number of updates changing exactly those properties,
	// out of Updates.
	Count   int64 `json:"count"`
	Updates int64 `json:"updates"`
}

// String reads like "98 % of 20,000 updates change only hireDate".
func (h Hint) String() string {
	pct := float64(h.Count) * 100 / float64(max(h.Updates, 1))
	digits := 1
	if pct == float64(int64(pct)) {
		digits = 0
	}
	return fmt.Sprintf("%s %% of %s updates change only %s",
		strconv.FormatFloat(pct, 'f', digits, 64), group(h.Updates), strings.Join(h.Properties, ", "))
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// EntityTypeChanges summarises the changes of one entity type.
type EntityTypeChanges struct {
	threshold.EntityCounts
	// Protected is the number of keys that Prepare rejected, whose stored
	// resources this run leaves untouched.
	Protected int64 `json:"protected"`
	// NoOps counts delta commands that changed nothing (delete of a key
	// that is not stored).
	NoOps int64 `json:"noOps,omitempty"`
	// Hints are the most frequent sets of properties that updates change.
	Hints []Hint `json:"hints,omitempty"`
	// Touched counts, per property, the updates that change it.
	Touched map[string]int64 `json:"touched,omitempty"`
	File    string           `json:"file"`
	SHA256  string           `json:"sha256"`
}

// AssociationChanges summarises the changes of one association.
type AssociationChanges struct {
	threshold.LinkCounts
	// NoOps counts delta commands that changed nothing.
	NoOps  int64  `json:"noOps,omitempty"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// ChangeSet is the set of changes that a run applies to a store: inserts,
// updates and deletes of resources per entity type, and inserts and deletes
// of links per association, in key order. It lives in a folder of the work
// directory, so that it can be reviewed and applied later, and it is
// identified by a content hash.
type ChangeSet struct {
	dir   string
	model *entitytype.Model
	m     manifest
	// read counts the changes a store reads while the engine applies
	// the change set, for progress; nil otherwise.
	read *readCounter
}

// readCounter counts the changes read from a change set and reports the
// count every few thousand.
type readCounter struct {
	n      atomic.Int64
	total  int64
	report func(done int64)
}

func (r *readCounter) add() {
	if r == nil {
		return
	}
	if n := r.n.Add(1); n%progressEvery == 0 {
		r.report(min(n, r.total))
	}
}

type manifest struct {
	Connector    string               `json:"connector"`
	Mode         Mode                 `json:"mode"`
	Fingerprint  string               `json:"fingerprint"`
	Hash         string               `json:"hash"`
	Model        *entitytype.Model    `json:"model"`
	EntityTypes  []EntityTypeChanges  `json:"entityTypes"`
	Associations []AssociationChanges `json:"associations"`
}

const manifestFile = "changeset.json"

// Connector returns the name of the connector whose changes these are.
func (cs *ChangeSet) Connector() string { return cs.m.Connector }

// Model returns the connector's model at planning time.
func (cs *ChangeSet) Model() *entitytype.Model { return cs.model }

// Mode returns the mode of the run that planned the change set.
func (cs *ChangeSet) Mode() Mode { return cs.m.Mode }

// Fingerprint returns the store's fingerprint when the change set was
// planned; Store.Apply applies it only if the store still has it.
func (cs *ChangeSet) Fingerprint() string { return cs.m.Fingerprint }

// Hash returns the content hash: equal inputs give equal hashes.
func (cs *ChangeSet) Hash() string { return cs.m.Hash }

// Dir returns the folder holding the change set.
func (cs *ChangeSet) Dir() string { return cs.dir }

// EntityTypes returns the per-entity-type summaries, in model order.
func (cs *ChangeSet) EntityTypes() []EntityTypeChanges { return cs.m.EntityTypes }

// Associations returns the per-association summaries, in model order.
func (cs *ChangeSet) Associations() []AssociationChanges { return cs.m.Associations }

// Counters returns the counts that thresholds evaluate.
func (cs *ChangeSet) Counters() *threshold.Counters {
	return counters(cs.m.Connector, cs.m.EntityTypes, cs.m.Associations)
}

func counters(connector string, ets []EntityTypeChanges, as []AssociationChanges) *threshold.Counters {
	c := &threshold.Counters{Connector: connector}
	for _, e := range ets {
		c.EntityTypes = append(c.EntityTypes, e.EntityCounts)
	}
	for _, a := range as {
		c.Associations = append(c.Associations, a.LinkCounts)
	}
	return c
}

// Len returns the number of changes of resources and links.
func (cs *ChangeSet) Len() int64 {
	var n int64
	for _, e := range cs.m.EntityTypes {
		n += e.Inserted + e.Updated + e.Deleted
	}
	for _, a := range cs.m.Associations {
		n += a.Inserted + a.Deleted
	}
	return n
}

// Resources iterates over the changes of the named entity type, in key
// order, reading them from disk as it goes.
func (cs *ChangeSet) Resources(entityType string) iter.Seq2[ResourceChange, error] {
	return func(yield func(ResourceChange, error) bool) {
		t := cs.model.EntityType(entityType)
		var file string
		for _, e := range cs.m.EntityTypes {
			if e.Name == entityType {
				file = e.File
			}
		}
		if t == nil || file == "" {
			yield(ResourceChange{}, fmt.Errorf("idsync: change set has no entity type %q", entityType))
			return
		}
		for r, err := range readRecords(filepath.Join(cs.dir, file)) {
			if err != nil {
				yield(ResourceChange{}, err)
				return
			}
			c, err := decodeResourceChange(t, r)
			cs.read.add()
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// Links iterates over the link changes of the named association, in
// (source, target) order.
func (cs *ChangeSet) Links(association string) iter.Seq2[LinkChange, error] {
	return func(yield func(LinkChange, error) bool) {
		var file string
		for _, a := range cs.m.Associations {
			if a.Name == association {
				file = a.File
			}
		}
		if file == "" {
			yield(LinkChange{}, fmt.Errorf("idsync: change set has no association %q", association))
			return
		}
		for r, err := range readRecords(filepath.Join(cs.dir, file)) {
			if err != nil {
				yield(LinkChange{}, err)
				return
			}
			f := rec.Split(r)
			c := LinkChange{Source: f.NextString(), Target: f.NextString()}
			if op := f.Next(); len(op) == 1 {
				c.Op = Op(op[0])
			}
			if err := f.Err(); err != nil || (c.Op != Insert && c.Op != Delete) {
				yield(LinkChange{}, fmt.Errorf("idsync: %s: %w", file, rec.ErrCorrupt))
				return
			}
			cs.read.add()
			if !yield(c, nil) {
				return
			}
		}
	}
}

// WriteJSONLines writes every change as one JSON object per line, entity
// types first then associations, each in key order:
//
//	{"entityType":"SAB_User","op":"update","key":"U1","props":[{"name":"hireDate","old":"2024-01-02","new":"2024-02-01"}]}
//	{"association":"SAB_Members","op":"insert","source":"G1","target":"U1"}
func (cs *ChangeSet) WriteJSONLines(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, e := range cs.m.EntityTypes {
		for c, err := range cs.Resources(e.Name) {
			if err != nil {
				return err
			}
			if err := enc.Encode(struct {
				EntityType string `json:"entityType"`
				ResourceChange
			}{e.Name, c}); err != nil {
				return err
			}
		}
	}
	for _, a := range cs.m.Associations {
		for c, err := range cs.Links(a.Name) {
			if err != nil {
				return err
			}
			if err := enc.Encode(struct {
				Association string `json:"association"`
				LinkChange
			}{a.Name, c}); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenChangeSet opens the change set saved in dir and verifies that its
// files still have the content it was hashed with.
func OpenChangeSet(dir string) (*ChangeSet, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("idsync: open change set: %w", err)
	}
	cs := &ChangeSet{dir: dir}
	if err := json.Unmarshal(b, &cs.m); err != nil {
		return nil, fmt.Errorf("idsync: change set %s: %w", dir, err)
	}
	cs.model = cs.m.Model
	if cs.model == nil {
		return nil, fmt.Errorf("idsync: change set %s: no model", dir)
	}
	want := cs.m.Hash
	if err := cs.rehash(); err != nil {
		return nil, err
	}
	if cs.m.Hash != want {
		return nil, fmt.Errorf("idsync: change set %s was modified after planning (hash %s, planned %s)", dir, cs.m.Hash, want)
	}
	return cs, nil
}

// rehash recomputes the files' hashes and the change set's hash.
func (cs *ChangeSet) rehash() error {
	h := sha256.New()
	fmt.Fprintf(h, "idsync changeset v1\x00%s\x00%s\x00%s\x00", cs.m.Connector, cs.m.Mode, cs.m.Fingerprint)
	// The model decodes the files (property indexes): it is hashed too.
	model, err := json.Marshal(cs.m.Model)
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	h.Write(model)
	for i := range cs.m.EntityTypes {
		e := &cs.m.EntityTypes[i]
		sum, err := fileSHA256(filepath.Join(cs.dir, e.File))
		if err != nil {
			return err
		}
		e.SHA256 = sum
		fmt.Fprintf(h, "E\x00%s\x00%s\x00", e.Name, sum)
	}
	for i := range cs.m.Associations {
		a := &cs.m.Associations[i]
		sum, err := fileSHA256(filepath.Join(cs.dir, a.File))
		if err != nil {
			return err
		}
		a.SHA256 = sum
		fmt.Fprintf(h, "A\x00%s\x00%s\x00", a.Name, sum)
	}
	cs.m.Hash = hex.EncodeToString(h.Sum(nil))
	return nil
}

func (cs *ChangeSet) save() error {
	if err := cs.rehash(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cs.m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(cs.dir, manifestFile), b)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("idsync: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("idsync: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readRecords streams the length-framed records of a file.
func readRecords(path string) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(nil, fmt.Errorf("idsync: %w", err))
			return
		}
		defer f.Close()
		r := rec.NewReader(f)
		for r.Next() {
			if !yield(r.Record(), nil) {
				return
			}
		}
		if err := r.Err(); err != nil {
			yield(nil, fmt.Errorf("idsync: %s: %w", filepath.Base(path), err))
		}
	}
}

// Change records on disk: key, op, then for an insert or a delete the
// values of all properties in model order, for an update triples of
// (property index, old, new).
func decodeResourceChange(t *entitytype.EntityType, r []byte) (ResourceChange, error) {
	f := rec.Split(r)
	c := ResourceChange{Key: f.NextString()}
	if op := f.Next(); len(op) == 1 {
		c.Op = Op(op[0])
	}
	switch c.Op {
	case Insert, Delete:
		for i := 0; f.More(); i++ {
			v := f.Next()
			if i >= len(t.Properties) {
				return c, rec.ErrCorrupt
			}
			if len(v) == 0 {
				continue
			}
			pc := PropertyChange{Name: t.Properties[i].Name}
			if c.Op == Insert {
				pc.New = string(v)
			} else {
				pc.Old = string(v)
			}
			c.Props = append(c.Props, pc)
		}
	case Update:
		for f.More() {
			i := f.NextUint()
			if i >= uint64(len(t.Properties)) {
				return c, rec.ErrCorrupt
			}
			c.Props = append(c.Props, PropertyChange{Name: t.Properties[i].Name, Old: f.NextString(), New: f.NextString()})
		}
	default:
		return c, rec.ErrCorrupt
	}
	if err := f.Err(); err != nil {
		return c, fmt.Errorf("idsync: change of %s: %w", t.Name, err)
	}
	return c, nil
}

// changeWriter writes one entity type's or association's change file.
type changeWriter struct {
	f *os.File
	w *rec.Writer
}

func newChangeWriter(path string) (*changeWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	return &changeWriter{f: f, w: rec.NewWriter(f)}, nil
}

func (w *changeWriter) write(r []byte) error { return w.w.Write(r) }

func (w *changeWriter) close() error {
	err := w.w.Flush()
	if e := w.f.Close(); err == nil {
		err = e
	}
	return err
}

// hints computes the most frequent update property sets (at most 5).
func hints(t *entitytype.EntityType, sets map[string]int64, updates int64) []Hint {
	var hs []Hint
	for set, n := range sets {
		var names []string
		for i := 0; i+1 < len(set); i += 2 {
			names = append(names, t.Properties[int(set[i])<<8|int(set[i+1])].Name)
		}
		hs = append(hs, Hint{Properties: names, Count: n, Updates: updates})
	}
	slices.SortFunc(hs, func(a, b Hint) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return slices.Compare(a.Properties, b.Properties)
	})
	return hs[:min(len(hs), 5)]
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("idsync: %w", err)
	}
	return nil
}
