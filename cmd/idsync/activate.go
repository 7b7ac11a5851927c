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
		args:    "CONNECTOR [--config FILE] [--store URL] [--work DIR]",
		summary: "re-activate a connector: plan and run include it again",
		detail: `
The connector's state is kept where its runs keep theirs: in the store
that plan and run use (--store, as for them), or in the work folder for
mem:.`,
		nargs: [2]int{1, 1},
		setFlags: func(fs *flag.FlagSet, o *opts) {
			flagConfig(fs, o, "")
			fs.StringVar(&o.store, "store", "", "store `URL` that keeps the connector's state: the one plan and run use (default $IDSYNC_STORE or sqlite:./idsync.db)")
			flagWork(fs, o)
		},
	}
	if !active {
		c.name = "deactivate"
		c.summary = "deactivate a connector: plan and run skip it until activated"
	}
	c.run = func(cl *cli, o *opts, args []string) error {
		name := args[0]
		u := o.store // the store that plan and run use, with the same flags
		if u == "" {
			u = defaultStore()
		}
		if err := checkStoreURL(u); err != nil {
			return err
		}
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
		}
		if err := os.MkdirAll(o.work, 0o755); err != nil {
			return err
		}
		store, err := openStore(cl.ctx, u)
		if err != nil {
			return err
		}
		defer store.close()
		if store.sql != nil {
			rememberStore(o.work, store.name)
		}
		engine := cl.engineFor(store, o, nil, nil)
		if o.config == "" && !knownConnector(cl.ctx, engine, name) {
			fmt.Fprintf(cl.stderr, "idsync %s: warning: %s has no run of connector %q: check its name (--config FILE checks it against the configuration)\n", c.name, store.name, name)
		}
		if err := engine.SetActive(cl.ctx, name, active); err != nil {
			return err
		}
		if active {
			fmt.Fprintf(cl.stdout, "%s activated: plan and run include it.\n", name)
		} else {
			fmt.Fprintf(cl.stdout, "%s deactivated: plan and run skip it until 'idsync activate %s --work %s%s'.\n", name, name, shellQuote(o.work), storeFlag(o.store))
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

// storeFlag is " --store URL" for a hint, or "" for the default store.
func storeFlag(u string) string {
	if u == "" {
		return ""
	}
	return " --store " + shellQuote(redact(u))
}
