package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/sync/sqlstore"
)

var browseCommand = &command{
	name:    "browse",
	args:    "TYPE [KEY] [--config FILE] [--limit N] [--after KEY] [--json] [--store URL]",
	summary: "list stored resources, or show one with its properties and links both ways",
	detail: `
With KEY, the resource's properties are listed, then for each association
touching TYPE its links: outgoing (TYPE is the association's source, as a
group to its members) and incoming (TYPE is its target, as a user to its
groups), each with the command that browses the resource at the other end.

The associations come from --config (idsync.yaml in the current folder if
it exists), else from what the store recorded when it applied them. A
multi-valued property is shown as a list ([a, b]; an array in JSON): the
configuration tells which properties are; without one, a value holding
several values is shown as a list.
browse needs a sqlite: or postgres:// store.`,
	nargs: [2]int{1, 2},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		flagConfig(fs, o, "")
		fs.IntVar(&o.limit, "limit", sqlstore.DefaultPageSize, "list at most `N` resources (a page); also the most links listed per association")
		fs.StringVar(&o.after, "after", "", "list the resources whose key comes after `KEY` (the next page)")
		flagStore(fs, o)
		flagJSON(fs, o, "the resources")
	},
	run: func(c *cli, o *opts, args []string) error {
		key, hasKey := "", len(args) == 2
		if hasKey {
			key = args[1]
		}
		return c.browse(o, args[0], key, hasKey)
	},
}

// browseLink is one association's links of a resource, one way.
type browseLink struct {
	Association string   `json:"association"`
	Direction   string   `json:"direction"`  // "outgoing" or "incoming"
	EntityType  string   `json:"entityType"` // at the other end
	Keys        []string `json:"keys"`
	Total       int      `json:"total"`
}

// association ends, from the configuration or the store.
type assocEnds struct{ name, source, target string }

func (c *cli) browse(o *opts, typ, key string, hasKey bool) error {
	if err := checkStoreURL(o.store); err != nil {
		return err
	}
	if isMem(strings.ToLower(o.store)) {
		return usagef("browse", "%v", errNoMemBrowse)
	}
	if o.limit < 0 {
		return usagef("browse", "--limit %d: want a positive number", o.limit)
	}
	if err := checkStoreExists("browse", o.store); err != nil {
		return err
	}
	var cfg *entitytype.Config
	cfgPath := o.config
	if cfgPath == "" {
		if _, err := os.Stat("idsync.yaml"); err == nil {
			cfgPath = "idsync.yaml"
		}
	}
	if cfgPath != "" {
		var err error
		if cfg, err = loadConfig("browse", cfgPath); err != nil {
			return err
		}
	}
	var model *entitytype.Model
	var et *entitytype.EntityType
	if cfg != nil {
		if model = modelOf(cfg, typ); model == nil || model.EntityType(typ) == nil {
			return &configError{fmt.Errorf("no entity type %q in %s", typ, cfgPath)}
		}
		et = model.EntityType(typ)
	}
	st, err := openStore(c.ctx, o.store)
	if err != nil {
		return err
	}
	defer st.close()
	s := st.sql
	if cfg == nil {
		known, err := s.EntityTypes(c.ctx)
		if err != nil {
			return err
		}
		if !slices.Contains(known, typ) {
			return &configError{fmt.Errorf("the store holds no entity type %q (it has %s)", typ, orNone(known))}
		}
	}
	if !hasKey {
		return c.browseList(o, s, et, typ)
	}

	props, ok, err := s.Get(c.ctx, typ, key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s %s is not stored", typ, quote(key))
	}
	// Associations touching typ.
	var assocs []assocEnds
	if cfg != nil {
		for _, m := range cfg.Connectors {
			for _, a := range m.Associations {
				src, tgt := bare(a.Source.EntityType), bare(a.Target.EntityType)
				if src == typ || tgt == typ {
					assocs = append(assocs, assocEnds{a.Name, src, tgt})
				}
			}
		}
	} else {
		stored, err := s.Associations(c.ctx, typ)
		if err != nil {
			return err
		}
		for _, a := range stored {
			assocs = append(assocs, assocEnds{a.Name, a.Source, a.Target})
		}
	}
	var links []browseLink
	for _, a := range assocs {
		if a.source == typ {
			keys, err := s.LinksFrom(c.ctx, a.name, key)
			if err != nil {
				return err
			}
			links = append(links, browseLink{a.name, "outgoing", a.target, keys, len(keys)})
		}
		if a.target == typ {
			keys, err := s.LinksTo(c.ctx, a.name, key)
			if err != nil {
				return err
			}
			links = append(links, browseLink{a.name, "incoming", a.source, keys, len(keys)})
		}
	}
	for i := range links {
		if links[i].Keys == nil {
			links[i].Keys = []string{}
		}
		if o.limit > 0 && len(links[i].Keys) > o.limit {
			links[i].Keys = links[i].Keys[:o.limit]
		}
	}
	names := propertyOrder(et, props)
	if o.json {
		return writeJSON(c.stdout, map[string]any{"entityType": typ, "key": key, "properties": propsJSON(et, props), "links": links})
	}
	w := c.stdout
	fmt.Fprintf(w, "%s %s\n\n", typ, quote(key))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range names {
		v, set := props[n]
		line := fmt.Sprintf("  %s\t%s", n, value(v))
		if v != "" && isMulti(et, n, v) {
			line = fmt.Sprintf("  %s\t%s", n, listValue(multiValues(v)))
		}
		if !set {
			line = fmt.Sprintf("  %s\t(null)", n)
		}
		if et != nil {
			if p := et.Property(n); p != nil && p.Type == entitytype.Ref && v != "" {
				line += fmt.Sprintf("\t→ idsync browse %s %s", bare(p.Target), shellQuote(v))
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	for _, l := range links {
		fmt.Fprintln(w)
		arrow := fmt.Sprintf("%s → %s", typ, l.EntityType)
		if l.Direction == "incoming" {
			arrow = fmt.Sprintf("%s ← %s", typ, l.EntityType)
		}
		fmt.Fprintf(w, "%s (%s, %s): %s\n", l.Association, l.Direction, arrow, group(int64(l.Total)))
		for _, k := range l.Keys {
			fmt.Fprintf(w, "  %-12s idsync browse %s %s\n", k, l.EntityType, shellQuote(k))
		}
		if len(l.Keys) < l.Total {
			fmt.Fprintf(w, "  ... %s more (--limit)\n", group(int64(l.Total-len(l.Keys))))
		}
	}
	if len(assocs) == 0 && cfg == nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "(no association touches "+typ+")")
	}
	return nil
}

func (c *cli) browseList(o *opts, s *sqlstore.Store, et *entitytype.EntityType, typ string) error {
	total, err := s.Count(c.ctx, typ)
	if err != nil {
		return err
	}
	page, err := s.List(c.ctx, typ, o.after, o.limit)
	if err != nil {
		return err
	}
	next := ""
	if limit := o.limit; limit <= 0 && len(page) == sqlstore.DefaultPageSize || limit > 0 && len(page) == limit {
		next = page[len(page)-1].Key
	}
	if o.json {
		type res struct {
			Key        string         `json:"key"`
			Properties map[string]any `json:"properties"`
		}
		out := []res{}
		for _, r := range page {
			out = append(out, res{r.Key, propsJSON(et, r.Properties)})
		}
		m := map[string]any{"entityType": typ, "count": total, "resources": out}
		if next != "" {
			m["next"] = next
		}
		return writeJSON(c.stdout, m)
	}
	w := c.stdout
	if len(page) == 0 {
		fmt.Fprintf(w, "%s: %s stored, none after %s\n", typ, group(total), quote(o.after))
		return nil
	}
	// Columns: the key, then the properties (model order, else sorted).
	all := map[string]string{}
	for _, r := range page {
		for k := range r.Properties {
			all[k] = ""
		}
	}
	cols := propertyOrder(et, all)
	if et != nil && len(et.Key) == 1 {
		cols = slices.DeleteFunc(cols, func(n string) bool { return n == et.Key[0] })
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "KEY\t%s\n", strings.Join(cols, "\t"))
	for _, r := range page {
		cells := []string{cell(r.Key)}
		for _, col := range cols {
			v := r.Properties[col]
			if v != "" && isMulti(et, col, v) {
				v = listValue(multiValues(v))
			}
			cells = append(cells, cell(clip(v, 40)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s of %s %s resources", group(int64(len(page))), group(total), typ)
	if o.after != "" {
		fmt.Fprintf(w, " after %s", quote(o.after))
	}
	fmt.Fprintln(w)
	if next != "" {
		cfgFlag := ""
		if o.config != "" {
			cfgFlag = " --config " + shellQuote(o.config)
		}
		fmt.Fprintf(w, "next page: idsync browse %s --after %s --limit %d --store %s%s\n", typ, shellQuote(next), o.limit, shellQuote(redact(o.store)), cfgFlag)
	}
	return nil
}

// propsJSON returns a resource's properties for JSON: a multi-valued
// property's value is an array.
func propsJSON(et *entitytype.EntityType, props map[string]string) map[string]any {
	out := make(map[string]any, len(props))
	for n, v := range props {
		out[n] = jsonValue(isMulti(et, n, v), v)
	}
	return out
}

// propertyOrder returns the names of props in the entity type's order
// (with those it does not declare after), or sorted without a model.
func propertyOrder(et *entitytype.EntityType, props map[string]string) []string {
	var names []string
	seen := map[string]bool{}
	if et != nil {
		for _, p := range et.Properties {
			names = append(names, p.Name)
			seen[p.Name] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(props)) {
		if !seen[n] {
			names = append(names, n)
		}
	}
	return names
}

// bare strips the connector from "Connector.EntityType".
func bare(name string) string {
	if _, t, ok := strings.Cut(name, "."); ok {
		return t
	}
	return name
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
