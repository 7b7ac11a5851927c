package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/idsync/idsync/connector"
)

// JobOptions configure [Engine.RunJob]. A nil *JobOptions means a complete
// job that applies.
type JobOptions struct {
	// Mode is Complete when empty.
	Mode Mode
	// DryRun plans every connector without applying (Engine.Plan).
	DryRun bool
	// AllowEmpty is passed to every run (see RunOptions).
	AllowEmpty bool
	// StopOnError stops the job at the first connector that fails or is
	// blocked; by default the job goes on with the next connectors.
	StopOnError bool
}

// JobResult is the outcome of a job: one entry per connector, in order.
type JobResult struct {
	Connectors []ConnectorResult
}

// ConnectorResult is one connector's part of a job.
type ConnectorResult struct {
	Connector string
	// Skipped is true for a connector that the job left out, with the
	// reason why: deactivated, or blocked in an incremental job. Run is
	// then nil, and Err is nil or, for a blocked connector, the refusal
	// (ErrConnectorBlocked), which RunJob's error does not include.
	Skipped bool
	Reason  string
	Run     *Run
	Err     error
}

// State returns the job's overall state: Failed if any connector failed,
// else Blocked if any is blocked, else Succeeded (Planned for a dry run).
func (r *JobResult) State() State {
	state := Succeeded
	for _, c := range r.Connectors {
		switch {
		case c.Skipped:
		case c.Run == nil || c.Run.State == Failed || c.Run.State == Cancelled:
			return Failed
		case c.Run.State == Blocked:
			state = Blocked
		case c.Run.State == Planned && state == Succeeded:
			state = Planned
		}
	}
	return state
}

// RunJob runs Export → Prepare → Synchronize for each connector in turn,
// in the order given (put the connectors whose entity types others
// reference first: HR before the applications whose users point to HR's
// organizations). Deactivated connectors (SetActive, or Disabled in their
// model) are skipped, and so, in an incremental job, are connectors with a
// blocked run (ErrConnectorBlocked: resume or cancel it, or run a
// complete job), each with its reason. The error joins
// every connector's error; errors.Is(err, ErrBlocked) tells that some
// connector was blocked.
func (e *Engine) RunJob(ctx context.Context, conns []connector.Connector, opts *JobOptions) (*JobResult, error) {
	if opts == nil {
		opts = &JobOptions{}
	}
	res := &JobResult{}
	var errs []error
	for _, c := range conns {
		name := c.Model().Name
		active, err := e.Active(ctx, name)
		if err != nil {
			return res, err
		}
		if !active || c.Model().Disabled {
			e.log.Info("connector deactivated, skipped", "connector", name)
			res.Connectors = append(res.Connectors, ConnectorResult{Connector: name, Skipped: true, Reason: "deactivated"})
			continue
		}
		ro := &RunOptions{Mode: opts.Mode, AllowEmpty: opts.AllowEmpty}
		var run *Run
		if opts.DryRun {
			run, err = e.Plan(ctx, c, ro)
		} else {
			run, err = e.Run(ctx, c, ro)
		}
		if errors.Is(err, ErrConnectorBlocked) {
			e.log.Info("connector blocked, skipped", "connector", name, "reason", err)
			res.Connectors = append(res.Connectors, ConnectorResult{Connector: name, Skipped: true, Reason: err.Error(), Err: err})
			continue
		}
		res.Connectors = append(res.Connectors, ConnectorResult{Connector: name, Run: run, Err: err})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			if opts.StopOnError || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				break
			}
		}
	}
	return res, errors.Join(errs...)
}
