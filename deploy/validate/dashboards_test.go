package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
)

// postgresPlugin is the plugin id of Grafana's Postgres datasource.
const postgresPlugin = "grafana-postgresql-datasource"

// dashboard is what these tests read of a Grafana dashboard JSON model.
type dashboard struct {
	file          string
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *dsRef          `json:"datasource"`
	AllValue   *string         `json:"allValue"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int      `json:"id"`
	Type       string   `json:"type"`
	Title      string   `json:"title"`
	Datasource *dsRef   `json:"datasource"`
	Targets    []target `json:"targets"`
	Panels     []panel  `json:"panels"` // of a collapsed row
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

type target struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	Expr       string `json:"expr"`
	RawSQL     string `json:"rawSql"`
	Format     string `json:"format"`
}

func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, err := filepath.Glob(repo("dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var d dashboard
		require.NoError(t, json.Unmarshal(b, &d), f)
		d.file = filepath.Base(f)
		out = append(out, d)
	}
	return out
}

// allPanels is every panel, those inside collapsed rows included.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// datasourceVars maps the dashboard's datasource variables to the plugin
// each selects.
func (d dashboard) datasourceVars() map[string]string {
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type == "datasource" {
			var plugin string
			_ = json.Unmarshal(v.Query, &plugin)
			out[v.Name] = plugin
		}
	}
	return out
}

// query is one query of a dashboard: a panel target or a variable's.
type query struct {
	where    string
	plugin   string // prometheus or grafana-postgresql-datasource
	text     string // PromQL or SQL
	format   string
	variable bool // a query variable's: label_values(SELECTOR, LABEL)
}

func (d dashboard) queries() []query {
	var out []query
	dsVars := d.datasourceVars()
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			ds := tg.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			q := query{where: fmt.Sprintf("%s panel %q target %s", d.file, p.Title, tg.RefID), text: tg.Expr, format: tg.Format}
			if ds != nil {
				q.plugin = dsVars[varName(ds.UID)]
			}
			if q.plugin == postgresPlugin {
				q.text = tg.RawSQL
			}
			out = append(out, q)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := query{where: fmt.Sprintf("%s variable %s", d.file, v.Name), text: v.Definition, variable: true}
		if v.Datasource != nil {
			q.plugin = dsVars[varName(v.Datasource.UID)]
		}
		out = append(out, q)
	}
	return out
}

// varName is NAME of "${NAME}" or "$NAME", "" for anything else.
func varName(s string) string {
	if m := wholeVar.FindStringSubmatch(s); m != nil {
		return m[1] + m[2]
	}
	return ""
}

var (
	wholeVar   = regexp.MustCompile(`^\$(?:\{(\w+)\}|(\w+))$`)
	anyVar     = regexp.MustCompile(`\$(?:\{(\w+)(?::\w+)?\}|(\w+))`)
	labelVals  = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)
	sqlMacro   = regexp.MustCompile(`\$__(\w+)\(([^)]*)\)`)
	varSentry  = "__grafana_var_"
	builtinDur = map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
)

// dashboardDatasourcePlugins is every plugin the dashboards' datasource
// variables select.
func dashboardDatasourcePlugins(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, d := range loadDashboards(t) {
		for _, p := range d.datasourceVars() {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// promQL parses a dashboard's PromQL: Grafana's interval variables become
// durations, template variables a sentinel that only regex matchers may
// hold (Grafana writes multi-value variables as regex alternations).
func promQL(text string, defined map[string]bool) (parser.Expr, error) {
	var bad error
	s := anyVar.ReplaceAllStringFunc(text, func(m string) string {
		sub := anyVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		switch {
		case builtinDur[name]:
			return "5m"
		case defined[name]:
			return varSentry + name
		}
		bad = fmt.Errorf("undefined variable $%s", name)
		return m
	})
	if bad != nil {
		return nil, bad
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(s)
	if err != nil {
		return nil, err
	}
	for _, vs := range selectors(e) {
		for _, m := range vs.LabelMatchers {
			if strings.Contains(m.Value, varSentry) && m.Type != labels.MatchRegexp && m.Type != labels.MatchNotRegexp {
				return nil, fmt.Errorf("%s: a variable may hold several values: match it with =~", m)
			}
		}
	}
	return e, nil
}

func selectors(n parser.Node) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(n, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// variableQuery turns a Prometheus query variable's label_values(SELECTOR,
// LABEL) into its selector expression and label.
func variableQuery(text string) (string, string, error) {
	m := labelVals.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return "", "", fmt.Errorf("%q: only label_values(SELECTOR, LABEL) is checked", text)
	}
	return m[1], m[2], nil
}

// expandSQL does what Grafana does to a Postgres panel's SQL before sending
// it, for the macros and variables faultline's dashboards use; anything
// else is an error.
func expandSQL(sql string, from, to time.Time, interval time.Duration, vars map[string][]string) (string, error) {
	var bad error
	sql = strings.ReplaceAll(sql, "$__interval", "'"+interval.String()+"'")
	sql = sqlMacro.ReplaceAllStringFunc(sql, func(m string) string {
		sub := sqlMacro.FindStringSubmatch(m)
		args := strings.Split(sub[2], ",")
		for i := range args {
			args[i] = strings.TrimSpace(args[i])
		}
		switch {
		case sub[1] == "timeFilter" && len(args) == 1:
			return fmt.Sprintf("%s BETWEEN '%s' AND '%s'", args[0], from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
		case sub[1] == "timeGroupAlias" && len(args) == 2:
			d, err := time.ParseDuration(strings.Trim(args[1], "'"))
			if err != nil || d < time.Second {
				bad = fmt.Errorf("%s: interval %s", m, args[1])
				return m
			}
			secs := strconv.Itoa(int(d.Seconds()))
			return fmt.Sprintf(`floor(extract(epoch from %s)/%s)*%s AS "time"`, args[0], secs, secs)
		}
		bad = fmt.Errorf("macro %s is not one these tests can expand", m)
		return m
	})
	sql = anyVar.ReplaceAllStringFunc(sql, func(m string) string {
		sub := anyVar.FindStringSubmatch(m)
		vals, ok := vars[sub[1]+sub[2]]
		if !ok {
			bad = fmt.Errorf("undefined variable %s", m)
			return m
		}
		quoted := make([]string, len(vals))
		for i, v := range vals {
			quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		return strings.Join(quoted, ",")
	})
	return sql, bad
}

// TestDashboards checks the dashboards' structure: JSON, identities,
// layout, datasources as variables, variables defined, PromQL that parses,
// SQL whose macros are known. What they query is checked against a real
// ingest by TestDashboardsAgainstRealIngest.
func TestDashboards(t *testing.T) {
	uids := map[string]string{}
	for _, d := range loadDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			require.NotEmpty(t, d.UID)
			require.NotEmpty(t, d.Title)
			require.Greater(t, d.SchemaVersion, 30)
			require.Empty(t, uids[d.UID], "uid %s also used by %s", d.UID, uids[d.UID])
			uids[d.UID] = d.file

			ids := map[int]bool{}
			for _, p := range d.allPanels() {
				require.False(t, ids[p.ID], "panel id %d twice", p.ID)
				ids[p.ID] = true
				require.True(t, p.GridPos.W > 0 && p.GridPos.X >= 0 && p.GridPos.X+p.GridPos.W <= 24 && p.GridPos.H > 0, "panel %q gridPos %+v", p.Title, p.GridPos)
			}

			// Datasources are chosen by variables, so that the dashboards
			// work with any Prometheus and Postgres, provisioned or imported.
			dsVars := d.datasourceVars()
			require.NotEmpty(t, dsVars)
			check := func(where string, ds *dsRef) {
				require.NotNil(t, ds, "%s: no datasource", where)
				name := varName(ds.UID)
				require.NotEmpty(t, name, "%s: datasource uid %q is not a variable", where, ds.UID)
				plugin, ok := dsVars[name]
				require.True(t, ok, "%s: $%s is not a datasource variable", where, name)
				require.Equal(t, plugin, ds.Type, "%s: datasource type", where)
			}
			for _, p := range d.allPanels() {
				if p.Type == "row" {
					require.Empty(t, p.Targets)
					continue
				}
				require.NotEmpty(t, p.Targets, "panel %q queries nothing", p.Title)
				check(fmt.Sprintf("panel %q", p.Title), p.Datasource)
				for _, tg := range p.Targets {
					if tg.Datasource != nil {
						check(fmt.Sprintf("panel %q target %s", p.Title, tg.RefID), tg.Datasource)
					}
				}
			}
			defined := map[string]bool{}
			for _, v := range d.Templating.List {
				defined[v.Name] = true
				if v.Type == "query" {
					check("variable "+v.Name, v.Datasource)
				}
			}

			for _, q := range d.queries() {
				require.NotEmpty(t, q.text, "%s: empty query", q.where)
				switch q.plugin {
				case "prometheus":
					if q.variable {
						sel, _, err := variableQuery(q.text)
						require.NoError(t, err, q.where)
						_, err = promQL(sel, defined)
						require.NoError(t, err, q.where)
						continue
					}
					_, err := promQL(q.text, defined)
					require.NoError(t, err, "%s: %s", q.where, q.text)
				case postgresPlugin:
					vars := map[string][]string{}
					for name := range defined {
						vars[name] = []string{"x"}
					}
					_, err := expandSQL(q.text, time.Now().Add(-time.Hour), time.Now(), time.Minute, vars)
					require.NoError(t, err, q.where)
				default:
					t.Fatalf("%s: datasource plugin %q", q.where, q.plugin)
				}
			}

			// A variable both PromQL and SQL use expands to the list of
			// values in both only without a custom all value.
			for _, v := range d.Templating.List {
				if v.AllValue != nil && *v.AllValue != "" {
					for _, q := range d.queries() {
						if q.plugin == postgresPlugin {
							require.NotRegexp(t, `\$\{?`+v.Name+`\b`, q.text, "%s: $%s has a custom all value (%s), which SQL cannot use", q.where, v.Name, *v.AllValue)
						}
					}
				}
			}
		})
	}
}

// taxonomy is the set of canonical categories.
func taxonomy() map[string]bool {
	out := map[string]bool{}
	for _, c := range classify.Categories {
		out[string(c)] = true
	}
	return out
}
