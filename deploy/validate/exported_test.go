package validate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// targetLabels are attached by Prometheus to every scraped series; up is
// the series Prometheus writes for each target.
var targetLabels = map[string]bool{"job": true, "instance": true}

// metricCheck checks PromQL against what a real ingest exports.
type metricCheck struct {
	series   map[string][]map[string]string
	recorded map[string]bool // names of recording rules, whose labels are not checked
	job      string          // the scrape job of ingest
	category map[string]bool
}

// check asserts that every selector of e names an exported (or recorded)
// metric, matches labels it has with values it can have, and that every
// aggregation groups by labels its input has.
func (c metricCheck) check(t *testing.T, where string, e parser.Expr) {
	t.Helper()
	for _, vs := range selectors(e) {
		name := vs.Name
		if c.recorded[name] {
			continue
		}
		if name == "up" {
			for _, m := range vs.LabelMatchers {
				if m.Name != labels.MetricName {
					require.True(t, targetLabels[m.Name], "%s: up has no label %s", where, m.Name)
				}
			}
			c.checkValues(t, where, name, vs.LabelMatchers)
			continue
		}
		series, ok := c.series[name]
		require.True(t, ok, "%s: %s is not a metric ingest exports", where, name)
		require.NotEmpty(t, series, "%s: %s has no series", where, name)
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName || targetLabels[m.Name] {
				continue
			}
			require.True(t, hasLabel(series, m.Name), "%s: %s has no label %s", where, name, m.Name)
		}
		c.checkValues(t, where, name, vs.LabelMatchers)
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		ae, ok := n.(*parser.AggregateExpr)
		if !ok || ae.Without {
			return nil
		}
		var inner [][]map[string]string
		for _, vs := range selectors(ae.Expr) {
			if c.recorded[vs.Name] {
				return nil // labels of recorded series are the rule's business
			}
			if vs.Name == "up" {
				inner = append(inner, []map[string]string{{"job": "", "instance": ""}})
				continue
			}
			inner = append(inner, c.series[vs.Name])
		}
		for _, g := range ae.Grouping {
			if targetLabels[g] {
				continue
			}
			found := false
			for _, s := range inner {
				found = found || hasLabel(s, g)
			}
			require.True(t, found, "%s: by (%s): no such label under %s", where, g, ae.Expr)
		}
		return nil
	})
}

// checkValues asserts that literal label values are ones that can occur:
// the scrape job's name, taxonomy categories, or values seen in the scrape.
func (c metricCheck) checkValues(t *testing.T, where, name string, ms []*labels.Matcher) {
	t.Helper()
	for _, m := range ms {
		if m.Name == labels.MetricName || strings.Contains(m.Value, varSentry) {
			continue
		}
		var values []string
		switch m.Type {
		case labels.MatchEqual, labels.MatchNotEqual:
			values = []string{m.Value}
		default:
			// Alternations of plain words; other regexes are not checked.
			if !regexp.MustCompile(`^[\w-]+(\|[\w-]+)*$`).MatchString(m.Value) {
				continue
			}
			values = strings.Split(m.Value, "|")
		}
		for _, v := range values {
			switch {
			case m.Name == "job":
				require.Equal(t, c.job, v, "%s: job", where)
			case m.Name == "instance":
			case m.Name == "category":
				require.True(t, c.category[v], "%s: category %q is not in the taxonomy", where, v)
			default:
				seen := false
				for _, l := range c.series[name] {
					seen = seen || l[m.Name] == v
				}
				require.True(t, seen, "%s: %s{%s=%q}: no such value exported", where, name, m.Name, v)
			}
		}
	}
}

func hasLabel(series []map[string]string, name string) bool {
	for _, l := range series {
		if _, ok := l[name]; ok {
			return true
		}
	}
	return false
}

// ruleFile is what these tests read of a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(repo("deploy", "prometheus", "faultline.rules.yml"))
	require.NoError(t, err)
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&rf))
	return rf
}

// TestDashboardsAgainstRealIngest runs the real `ingest run` (the binary of
// the image) against a Kafka broker and a fresh database, lets it store
// generated traffic, then checks the dashboards and the alert rules against
// its real /metrics, the dashboards' SQL against the database it filled (as
// Grafana's read-only role), and the image's health check against it.
func TestDashboardsAgainstRealIngest(t *testing.T) {
	r := startRealIngest(t)
	s := r.waitStored(t)

	// Health: the image's HEALTHCHECK command, and readiness.
	for _, path := range []string{"/healthz", "/readyz"} {
		out, err := exec.Command(bin("healthcheck"), r.base+path).CombinedOutput()
		require.NoError(t, err, "healthcheck %s: %s", path, out)
	}
	require.Equal(t, 1.0, s.value("faultline_ready", nil), "faultline_ready while consuming")

	// Requests per provider add up to the records stored, every one counted
	// under a bounded provider label.
	stored := s.value("faultline_records_stored_total", nil)
	require.Greater(t, stored, 2000.0)
	require.Equal(t, stored, s.sum("faultline_provider_requests_total"))
	var providers []string
	for _, m := range s["faultline_provider_requests_total"].GetMetric() {
		providers = append(providers, labelMap(m)["provider"])
	}
	sort.Strings(providers)
	require.Equal(t, []string{"cheers", "finix", "finterra", "flexiti", "other", "paylera"}, providers)
	require.Greater(t, s.sum("faultline_provider_errors_total"), 500.0)

	prom := readYAML[prometheusConfig](t, repo("deploy", "prometheus", "prometheus.yml"))
	c := metricCheck{series: s.series(), recorded: map[string]bool{}, job: prom.job(t, "faultline-ingest").JobName, category: taxonomy()}

	t.Run("dashboards query exported metrics", func(t *testing.T) {
		for _, d := range loadDashboards(t) {
			defined := map[string]bool{}
			for _, v := range d.Templating.List {
				defined[v.Name] = true
			}
			for _, q := range d.queries() {
				if q.plugin != "prometheus" {
					continue
				}
				text := q.text
				label := ""
				if q.variable {
					var err error
					text, label, err = variableQuery(q.text)
					require.NoError(t, err)
				}
				e, err := promQL(text, defined)
				require.NoError(t, err, q.where)
				c.check(t, q.where, e)
				if label != "" && !targetLabels[label] {
					for _, vs := range selectors(e) {
						require.True(t, hasLabel(c.series[vs.Name], label), "%s: %s has no label %s", q.where, vs.Name, label)
					}
				}
			}
		}
	})

	t.Run("alert rules query exported metrics", func(t *testing.T) {
		rf := readRules(t)
		for _, g := range rf.Groups {
			for _, rule := range g.Rules {
				if rule.Record != "" {
					c.recorded[rule.Record] = true
				}
			}
		}
		n := 0
		for _, g := range rf.Groups {
			if g.Name == watcherGroup {
				continue // TestWatcherRulesAgainstRealReportAlerts
			}
			for _, rule := range g.Rules {
				e, err := parser.NewParser(parser.Options{}).ParseExpr(rule.Expr)
				require.NoError(t, err, rule.Record+rule.Alert)
				c.check(t, fmt.Sprintf("rule %s%s", rule.Record, rule.Alert), e)
				n++
			}
		}
		require.Greater(t, n, 10)
	})

	t.Run("dashboards SQL as Grafana's role", func(t *testing.T) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, readerRole(t, r.dbURL))
		require.NoError(t, err)
		defer conn.Close(ctx)

		// What the role may not do.
		_, err = conn.Exec(ctx, `SELECT count(*) FROM events`)
		require.ErrorContains(t, err, "permission denied")
		_, err = conn.Exec(ctx, `SELECT count(*) FROM dead_letters`)
		require.ErrorContains(t, err, "permission denied")
		_, err = conn.Exec(ctx, `DELETE FROM rollup_errors`)
		require.Error(t, err)

		vars := map[string][]string{"provider": providers}
		from, to := time.Now().Add(-3*time.Hour), time.Now().Add(time.Minute)
		n := 0
		for _, d := range loadDashboards(t) {
			for _, q := range d.queries() {
				if q.plugin != postgresPlugin {
					continue
				}
				n++
				sql, err := expandSQL(q.text, from, to, 5*time.Minute, vars)
				require.NoError(t, err, q.where)
				rows, err := conn.Query(ctx, sql)
				require.NoError(t, err, "%s:\n%s", q.where, sql)
				cols := rows.FieldDescriptions()
				count := 0
				for rows.Next() {
					count++
				}
				require.NoError(t, rows.Err(), "%s:\n%s", q.where, sql)
				require.Positive(t, count, "%s returns nothing over traffic with errors:\n%s", q.where, sql)
				if q.format == "time_series" {
					require.Equal(t, "time", cols[0].Name, "%s: a time series starts with its time column", q.where)
				}
			}
		}
		require.Positive(t, n, "the dashboards have Postgres panels")
	})
}
