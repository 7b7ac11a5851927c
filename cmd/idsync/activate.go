package main

import (
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
		if o.config != "" {
			cfg, err := loadConfig(c.name, o.config)
			if err != nil {
				return err
			}
			if _, err := selectConnectors(cfg, name); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(o.work, 0o755); err != nil {
			return err
		}
		engine := idsync.New(nil, &idsync.Options{WorkDir: o.work, Logger: cl.log})
		if err := engine.SetActive(name, active); err != nil {
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
