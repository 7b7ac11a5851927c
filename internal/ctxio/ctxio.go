// Package ctxio has I/O helpers that watch a context.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader of r that stops, with ctx's error, once ctx is
// done: a copy of a large stream ends soon after a cancellation.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
