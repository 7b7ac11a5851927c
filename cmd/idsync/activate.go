package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	idsync "github.com/idsync/idsync/sync"
)

func activateCommand(active bool) *command {
	c := &command{
		name:    "activate",
		args:    "CONNECTOR [--config FILE] [--work DIR]",
		summary: "re-activate a connector: plan and run include it again",
		nargs:   [2]int{1, 1},
		setFlags: func(fs *flag.FlagSet, o *opts) {
			flagConfig(fs, o, "")
			flagWork(fs, o)
		},
	}
	if !active {
		c.name = "deactivate"
		c.summary = "deactivate a connector: plan and run skip it until activated"
	}
	c.run = func(cl *cli, o *opts, args []string) error {
		name := args[0]
		engine := idsync.New(nil, &idsync.Options{WorkDir: o.work, Logger: cl.log})
		if o.config != "" {
			cfg, err := loadConfig(c.name, o.config)
			if err != nil {
				return err
			}
			if cfg.Connector(name) == nil {
				var names []string
				for _, m := range cfg.Connectors {
					names = append(names, m.Name)
				}
				return &configError{fmt.Errorf("no connector %q in %s (it has %s)", name, o.config, orNone(names))}
			}
		} else if !knownConnector(cl.ctx, engine, name) {
			fmt.Fprintf(cl.stderr, "idsync %s: warning: the work folder %s has no run of connector %q: check its name (--config FILE checks it against the configuration)\n", c.name, shellQuote(o.work), name)
		}
		if err := os.MkdirAll(o.work, 0o755); err != nil {
			return err
		}
		if err := engine.SetActive(cl.ctx, name, active); err != nil {
			return err
		}
		if active {
			fmt.Fprintf(cl.stdout, "%s activated: plan and run include it.\n", name)
		} else {
			fmt.Fprintf(cl.stdout, "%s deactivated: plan and run skip it until 'idsync activate %s --work %s'.\n", name, name, shellQuote(o.work))
		}
		return nil
	}
	return c
}

// knownConnector reports whether the work folder has a run of the
// connector.
func knownConnector(ctx context.Context, engine *idsync.Engine, name string) bool {
	runs, err := engine.Runs(ctx, &idsync.RunQuery{Connector: name, Limit: 1})
	if err != nil {
		return true // no telling: no warning
	}
	for _, r := range runs {
		if r.Connector == name {
			return true
		}
	}
	return false
}
