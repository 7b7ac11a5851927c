// Package csvconn is a connector for a managed system that drops CSV (or
// XLSX) files in a folder, as HR systems do: one file per entity type and
// association, named in the model (Name + ".csv" by default). It passes
// the connectortest conformance kit.
package csvconn

import (
	"context"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
)

// Options configure a Connector. A nil *Options means the defaults.
type Options struct {
	// InPlace reads the files where they are instead of copying them into
	// the run's export folder. It saves the copy of large files, but the
	// files must not change until the run is planned.
	InPlace bool
}

// Connector reads a folder of extraction files.
type Connector struct {
	model *entitytype.Model
	dir   string
	opts  Options
}

// New returns a connector reading the files of model's tables in dir.
func New(model *entitytype.Model, dir string, opts *Options) *Connector {
	c := &Connector{model: model, dir: dir}
	if opts != nil {
		c.opts = *opts
	}
	return c
}

// Model implements connector.Connector.
func (c *Connector) Model() *entitytype.Model { return c.model }

// Dir returns the folder the connector reads.
func (c *Connector) Dir() string { return c.dir }

// Export implements connector.Connector: it copies the files into dir
// (unless InPlace or dir is empty) and returns them as a connector.Folder.
func (c *Connector) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.opts.InPlace || dir == "" {
		return connector.Folder{Dir: c.dir, Model: c.model}, nil
	}
	if err := connector.CopyFiles(ctx, c.dir, dir, connector.Files(c.model)); err != nil {
		return nil, err
	}
	return connector.Folder{Dir: dir, Model: c.model, Source: c.dir}, nil
}
