// Package xlsxconn is a connector for a managed system exported as one
// XLSX workbook: one sheet per entity type and association, named by its
// Sheet field (its Name when empty). It passes the connectortest
// conformance kit.
package xlsxconn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
)

// Connector reads one workbook.
type Connector struct {
	model *entitytype.Model
	path  string
}

// New returns a connector reading model's tables from the workbook at path.
func New(model *entitytype.Model, path string) *Connector {
	return &Connector{model: model, path: path}
}

// Model implements connector.Connector.
func (c *Connector) Model() *entitytype.Model { return c.model }

// Export implements connector.Connector: it copies the workbook into dir
// (unless dir is empty), so that the export is a snapshot.
func (c *Connector) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := c.path
	if dir != "" {
		path = filepath.Join(dir, filepath.Base(c.path))
		if err := connector.CopyFiles(ctx, filepath.Dir(c.path), dir, []string{filepath.Base(c.path)}); err != nil {
			return nil, err
		}
	}
	return Workbook{Path: path, Model: c.model}, nil
}

// Workbook is an extraction held in one XLSX workbook.
type Workbook struct {
	Path  string
	Model *entitytype.Model
}

// Open implements connector.Extraction.
func (w Workbook) Open(ctx context.Context, name string) (connector.Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sheet, ok := sheetOf(w.Model, name)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an entity type or association of %s", connector.ErrNotExported, name, w.Model.Name)
	}
	if _, err := os.Stat(w.Path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s: no workbook %s", connector.ErrNotExported, name, w.Path)
	}
	r, err := extract.Open(w.Path, &extract.Options{Sheet: sheet})
	if errors.Is(err, extract.ErrNoSheet) {
		return nil, fmt.Errorf("%w: %s: %v", connector.ErrNotExported, name, err)
	}
	return r, err
}

func sheetOf(m *entitytype.Model, name string) (string, bool) {
	if i := slices.IndexFunc(m.EntityTypes, func(t entitytype.EntityType) bool { return t.Name == name }); i >= 0 {
		return cmp.Or(m.EntityTypes[i].Sheet, name), true
	}
	if i := slices.IndexFunc(m.Associations, func(a entitytype.Association) bool { return a.Name == name && !a.Inline }); i >= 0 {
		return cmp.Or(m.Associations[i].Sheet, name), true
	}
	return "", false
}
