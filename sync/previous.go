package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/rec"
)

const preparedIndex = "prepared.json"

// fileExists reports whether a file is at path.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// previousFile is the previous prepared snapshot of a table in the folder
// dir of previous snapshots, or "" when there is no such folder (dir "").
func previousFile(dir, table string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, table+".prepared")
}

// snapshotFile is the prepared snapshot of a table, which a delta computed
// from the previous snapshot replaces as the table's File.
func snapshotFile(t *PreparedTable) string {
	if t.Snapshot != "" {
		return t.Snapshot
	}
	return t.File
}

// savePrepared records the prepared tables in dir, for a later resume.
func savePrepared(p *Prepared) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	return writeFileAtomic(filepath.Join(p.Dir, preparedIndex), b)
}

// loadPrepared reads what savePrepared wrote.
func loadPrepared(dir string, m *entitytype.Model) (*Prepared, error) {
	b, err := os.ReadFile(filepath.Join(dir, preparedIndex))
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	p := &Prepared{}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("idsync: %s: %w", preparedIndex, err)
	}
	p.Dir, p.Model = dir, m
	for _, t := range slices.Concat(p.EntityTypes, p.Associations) {
		for _, k := range t.ProtectedKeys {
			t.protected.add(k)
		}
	}
	return p, nil
}

// headerChanges describes how a table's header differs from the previous
// run's: columns added, removed, or the same columns reordered.
func headerChanges(prev, cur []string) []string {
	if prev == nil || slices.Equal(prev, cur) {
		return nil
	}
	var out []string
	var added, removed []string
	for _, h := range cur {
		if !slices.Contains(prev, h) {
			added = append(added, h)
		}
	}
	for _, h := range prev {
		if !slices.Contains(cur, h) {
			removed = append(removed, h)
		}
	}
	if len(added) > 0 {
		out = append(out, "columns added: "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		out = append(out, "columns removed: "+strings.Join(removed, ", "))
	}
	if len(added) == 0 && len(removed) == 0 {
		out = append(out, "columns reordered: "+strings.Join(cur, ", "))
	}
	return out
}

// compareHeaders fills HeaderChanges from the previous run's prepared.json
// in dir.
func compareHeaders(p *Prepared, dir string) {
	if dir == "" {
		return
	}
	prev, err := loadPrepared(dir, p.Model)
	if err != nil {
		return
	}
	for _, t := range slices.Concat(p.EntityTypes, p.Associations) {
		for _, pt := range slices.Concat(prev.EntityTypes, prev.Associations) {
			if pt.Name == t.Name && pt.Header != nil && t.Header != nil {
				t.HeaderChanges = headerChanges(pt.Header, t.Header)
			}
		}
	}
}

// deltaFromPrevious turns every prepared snapshot of an incremental run
// into a delta against the previous run's prepared snapshot: a key that
// appeared or changed becomes a merge, a key that disappeared a delete
// (unless protected). Tables that are deltas already are left alone.
func deltaFromPrevious(ctx context.Context, p *Prepared, prevDir string) error {
	for i, t := range slices.Concat(p.EntityTypes, p.Associations) {
		if t.Delta {
			continue
		}
		prevPath := previousFile(prevDir, t.Name)
		if _, err := os.Stat(prevPath); prevPath == "" || errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s.%s has no previous prepared snapshot", ErrNoPrevious, p.Connector, t.Name)
		}
		link := i >= len(p.EntityTypes)
		var src, tgt *PreparedTable
		if link {
			a := p.Model.Associations[i-len(p.EntityTypes)]
			src, tgt = p.table(a.Source.EntityType), p.table(a.Target.EntityType)
		}
		if err := writeDelta(ctx, p.Dir, t, prevPath, link, src, tgt); err != nil {
			return err
		}
	}
	return savePrepared(p)
}

func writeDelta(ctx context.Context, dir string, t *PreparedTable, prevPath string, link bool, src, tgt *PreparedTable) error {
	nw, err := preparedCursor(filepath.Join(dir, t.File))
	if err != nil {
		return err
	}
	defer nw.close()
	old, err := preparedCursor(prevPath)
	if err != nil {
		return err
	}
	defer old.close()
	snapshot := t.File
	t.Delta, t.Snapshot, t.File = true, snapshot, t.Name+".delta"
	w, err := newPreparedWriter(filepath.Join(dir, t.File), t)
	if err != nil {
		return err
	}
	defer w.abort()
	var buf []byte
	err = merge(ctx, nw, old, nil, func(n, c []byte) error {
		switch {
		case c == nil:
			return w.write(n)
		case n == nil:
			key := rec.Key(c)
			if link {
				s, g, _ := bytes.Cut(key, []byte{0})
				if linkKept(t, src, tgt, string(s), string(g)) {
					return nil
				}
			} else if t.protected.has(string(key)) {
				return nil
			}
			buf = rec.AppendBytes(buf[:0], key)
			buf = rec.AppendBytes(buf, []byte{byte(Delete)})
			buf = rec.AppendUint(buf, 0)
			for f := old.values(); f.More(); {
				buf = rec.AppendBytes(buf, f.Next())
			}
			return w.write(buf)
		}
		fn, fc := nw.values(), old.values()
		for fn.More() || fc.More() {
			if !bytes.Equal(fn.Next(), fc.Next()) {
				return w.write(n)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.close()
}

// table returns the prepared table of an entity type of this connector.
func (p *Prepared) table(name string) *PreparedTable {
	if conn, typ, ok := strings.Cut(name, "."); ok && conn == p.Connector {
		name = typ
	}
	for _, t := range p.EntityTypes {
		if t.Name == name {
			return t
		}
	}
	return nil
}
