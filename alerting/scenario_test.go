package alerting_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

// occurrence is one occurrence of a scenario's incident in the window
// evaluated, and what it must do: page, or be stored suppressed.
type occurrence struct {
	name string
	in   synth.Incident // Start is this occurrence's
	// suppressed: stored with this reason, never sent; "" pages.
	suppressed detect.SuppressReason
}

func (o occurrence) end() time.Time { return o.in.Start.Add(o.in.Length) }

// occurrences lists what the evaluation of [from, to) must find: every
// incident's occurrences; a repeated one pages its first two weeks and is
// recurring from the third; one inside a declared maintenance window is
// suppressed.
func occurrences(s synth.Scenario, cfg *detect.Config, from, to time.Time) []occurrence {
	var out []occurrence
	for _, in := range s.Incidents {
		n := 0
		for _, start := range in.Occurrences(to) {
			if start.Before(from) || !start.Before(to) {
				continue
			}
			o := occurrence{in: in}
			o.in.Start = start
			o.name = fmt.Sprintf("%s %s %s", in.Kind, in.Provider, start.Format("Mon 01-02 15:04"))
			if in.Kind == synth.NewCode {
				o.name = fmt.Sprintf("new_code %s %s %s", in.Provider, in.Code, start.Format("Mon 01-02 15:04"))
			}
			for _, w := range cfg.Maintenance(in.Provider) {
				if _, _, ok := w.Covering(start); ok {
					o.suppressed = detect.Maintenance
				}
			}
			if in.Every > 0 && o.suppressed == "" && n >= 2 {
				o.suppressed = detect.Recurring
			}
			n++
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b occurrence) int { return a.in.Start.Compare(b.in.Start) })
	return out
}

// verdict is what became of an occurrence: when it paged (zero: never),
// and the alerts that saw it.
type verdict struct {
	occurrence
	paged     time.Time
	firstSeen time.Time // a new code's first occurrence
	alerts    []store.Alert
}

// timeToPage is when it paged after it began: its start, or for a new
// code its first occurrence.
func (v verdict) timeToPage() time.Duration {
	if !v.firstSeen.IsZero() {
		return v.paged.Sub(v.firstSeen)
	}
	return v.paged.Sub(v.in.Start)
}

// judge matches the alerts to the occurrences: an alert sees an
// occurrence when it is of the incident's rule (its code, for a new code)
// and provider and overlaps it; the occurrence pages when one of them, or
// the alert it joined, pages. The rest of the alerts that page are false
// pages.
func judge(occ []occurrence, alerts []store.Alert, firstSeen func(provider, code string) time.Time) (out []verdict, falsePages []store.Alert) {
	byID := map[int64]store.Alert{}
	for _, a := range alerts {
		byID[a.ID] = a
	}
	used := map[int64]bool{}
	for _, o := range occ {
		v := verdict{occurrence: o}
		if o.in.Kind == synth.NewCode {
			v.firstSeen = firstSeen(o.in.Provider, o.in.Code)
		}
		for _, a := range alerts {
			if string(a.Rule) != string(o.in.Kind) || a.Provider != o.in.Provider ||
				o.in.Kind == synth.NewCode && a.Subject != o.in.Code ||
				!a.StartsAt.Before(o.end().Add(30*time.Minute)) || !a.Firing() && a.EndsAt.Before(o.in.Start.Add(-10*time.Minute)) {
				continue
			}
			v.alerts = append(v.alerts, a)
			used[a.ID] = true
			page := a
			if !a.Paging() && a.ParentID != 0 {
				page = byID[a.ParentID]
				used[page.ID] = true
			}
			if page.Paging() && (v.paged.IsZero() || page.PagedAt.Before(v.paged)) {
				v.paged = page.PagedAt
			}
		}
		out = append(out, v)
	}
	for _, a := range alerts {
		if a.Paging() && !used[a.ID] {
			falsePages = append(falsePages, a)
		}
	}
	return out, falsePages
}

// pageTable prints time to page per occurrence (rows) and volume
// (columns).
func pageTable(volumes []string, rows []string, cells map[string]map[string]string) string {
	var b strings.Builder
	b.WriteString("| incident |")
	for _, v := range volumes {
		fmt.Fprintf(&b, " %s |", v)
	}
	b.WriteString("\n|---|")
	for range volumes {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |", r)
		for _, v := range volumes {
			fmt.Fprintf(&b, " %s |", cells[r][v])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestScenarioBacktest evaluates four weeks of volumes.yaml (after a week
// of history) at 1x, 5x and 20x its rate and checks, per incident, when it
// pages: within 15 minutes of its start (of its first occurrence, for a
// new code) at every volume, the median within 5; an undeclared weekly
// maintenance pages its first two weeks and is stored suppressed from the
// third; a declared one never pages; auth failures after a deploy with a
// new code are one page; and the decoys (a holiday, a 5x surge, 2x
// growth, a tenant declining 40% of its calls in the evenings, a blip of
// 3 errors at 3 a.m.) page nobody: at most 2 false pages in four weeks,
// at any volume. It logs the table of times to page that docs/alerts.md
// shows.
//
// At 1x the records go through the real pipeline (ingest.Replay:
// classify, redact, batch, write rollups and groups), and the alerts'
// context, a second evaluation and cron's pieces are checked too; at 5x
// and 20x (6 and 25 million calls) the scenario's per-minute counts are
// written by the store's writer (synth's NextMinute, equal to classifying
// the records: TestNextMinuteCountsWhatNextRenders).
func TestScenarioBacktest(t *testing.T) {
	base := readScenario(t, "volumes.yaml")
	cfgData, err := os.ReadFile(filepath.Join("testdata", "volumes.alerts.yaml"))
	require.NoError(t, err)
	cfg, err := detect.ParseConfig(cfgData)
	require.NoError(t, err)
	from, to := base.Start.Add(7*24*time.Hour), base.Start.Add(base.Duration)
	occ := occurrences(base, cfg, from, to)

	volumes := []string{"1x", "5x", "20x"}
	var mu sync.Mutex
	cells := map[string]map[string]string{}
	var rows []string
	for _, o := range occ {
		rows = append(rows, o.name)
		cells[o.name] = map[string]string{}
	}
	rows = append(rows, "false pages (decoys and all else)", "median time to page")
	cells[rows[len(rows)-2]], cells[rows[len(rows)-1]] = map[string]string{}, map[string]string{}

	for i, scale := range []float64{1, 5, 20} {
		vol := volumes[i]
		t.Run(vol, func(t *testing.T) {
			s := base
			s.Rate *= scale
			st, db, _ := migrated(t)
			began := time.Now()
			if scale == 1 {
				n := ingestScenario(t, st, s)
				t.Logf("%s: %d records through the pipeline in %s", vol, n, time.Since(began).Round(time.Millisecond))
			} else {
				n := writeRollups(t, st, s)
				t.Logf("%s: %d calls written as rollups in %s", vol, n, time.Since(began).Round(time.Millisecond))
			}
			analyze(t, db)
			ctx := testCtx(t, 5*time.Minute)
			ev := alerting.NewEvaluator(st, cfg, nil)
			began = time.Now()
			res, err := ev.Evaluate(ctx, from, to, false)
			require.NoError(t, err)
			t.Logf("%s: evaluated %d minutes in %s: %d alerts", vol, int(to.Sub(from)/time.Minute), time.Since(began).Round(time.Millisecond), len(res.Alerts))

			verdicts, falsePages := judge(occ, res.Alerts, func(provider, code string) (first time.Time) {
				require.NoError(t, db.QueryRow(ctx, "SELECT min(first_seen) FROM error_groups WHERE provider = $1 AND code = $2",
					provider, code).Scan(&first))
				return first.UTC()
			})
			var ttp []time.Duration
			mu.Lock()
			for _, v := range verdicts {
				cell := ""
				switch {
				case v.suppressed != "" && v.paged.IsZero():
					cell = "suppressed (" + string(v.suppressed) + ")"
				case v.paged.IsZero():
					cell = "missed"
				default:
					cell = fmt.Sprintf("%.0f min", v.timeToPage().Minutes())
				}
				cells[v.name][vol] = cell
			}
			cells["false pages (decoys and all else)"][vol] = fmt.Sprint(len(falsePages))
			mu.Unlock()
			for _, v := range verdicts {
				if v.suppressed != "" {
					require.NotEmpty(t, v.alerts, "%s: stored, suppressed", v.name)
					for _, a := range v.alerts {
						require.Equal(t, v.suppressed, a.Suppression.Reason, "%s: from %s detected %s: %s", v.name, a.StartsAt, a.DetectedAt, a.Summary)
						require.False(t, a.Paging(), "%s is not sent: %s", v.name, a.Summary)
					}
					continue
				}
				require.False(t, v.paged.IsZero(), "%s pages", v.name)
				require.Positive(t, v.timeToPage(), "%s: paged after it started", v.name)
				require.LessOrEqual(t, v.timeToPage(), 15*time.Minute, "%s: paged within 15 minutes", v.name)
				ttp = append(ttp, v.timeToPage())
				paging := 0
				for _, a := range v.alerts {
					if a.Paging() {
						paging++
					}
				}
				require.LessOrEqual(t, paging, 1, "%s: one page", v.name)
			}
			slices.Sort(ttp)
			median := ttp[len(ttp)/2]
			mu.Lock()
			cells["median time to page"][vol] = fmt.Sprintf("%.0f min", median.Minutes())
			mu.Unlock()
			require.LessOrEqual(t, median, 5*time.Minute, "median time to page")
			for _, a := range falsePages {
				t.Logf("%s: false page: %s %s %s at %s: %s", vol, a.Severity, a.Rule, a.Provider, a.StartsAt.Format("Mon 01-02 15:04"), a.Summary)
			}
			require.LessOrEqual(t, len(falsePages), 2, "at most 2 false pages in four weeks")

			if scale == 1 {
				checkStoredAlerts(t, ev, st, db, s, res, from, to)
			}
		})
	}
	t.Logf("time to page (detected, or first sent, minus the incident's start; a new code's first occurrence):\n%s",
		pageTable(volumes, rows, cells))
}

// checkStoredAlerts checks what the 1x evaluation stored: every alert that
// pages has what on-call needs; the same window again, and cron's
// 15-minute pieces around an incident, store no row more.
func checkStoredAlerts(t *testing.T, ev *alerting.Evaluator, st *store.Store, db *pgxpool.Pool, s synth.Scenario,
	res alerting.Result, from, to time.Time) {
	ctx := testCtx(t, 5*time.Minute)
	for _, a := range res.Alerts {
		require.NotZero(t, a.ID)
		require.Contains(t, a.Summary, a.Provider)
		if !a.Paging() {
			continue
		}
		c := a.Context
		require.NotEmpty(t, c.TopCodes, "%s", a.Summary)
		require.NotEmpty(t, c.TopEndpoints, "%s", a.Summary)
		require.Positive(t, c.TenantsAffected)
		if c.SampleCorrelationID != "" {
			var n int
			require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events
				WHERE correlation_id = $1 AND provider = $2 AND ts >= $3 AND ts < $4`,
				c.SampleCorrelationID, a.Provider, c.From, c.To).Scan(&n))
			require.Equal(t, 1, n, "the sample id finds its event with report lookup")
		}
	}
	rows := func() (n int) {
		require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM alerts").Scan(&n))
		return n
	}
	stored := rows()
	require.Equal(t, len(res.Alerts), stored)

	// The same window again: the same rows, updated in place.
	again, err := ev.Evaluate(ctx, from, to, false)
	require.NoError(t, err)
	require.Equal(t, stored, rows())
	require.Len(t, again.Alerts, len(res.Alerts))
	for i := range again.Alerts {
		require.Equal(t, res.Alerts[i].ID, again.Alerts[i].ID)
		require.Equal(t, res.Alerts[i].PagedAt, again.Alerts[i].PagedAt)
	}

	// Cron: every few minutes, the last 15 minutes, around the auth
	// failures after a deploy (two rules, one page) and the slow burn.
	for _, in := range s.Incidents {
		if in.Kind != synth.AuthFailure && in.Ramp == 0 {
			continue
		}
		for end := in.Start.Add(-20 * time.Minute); end.Before(in.End().Add(40 * time.Minute)); end = end.Add(3 * time.Minute) {
			_, err := ev.Evaluate(ctx, end.Add(-alerting.DefaultLookback), end, false)
			require.NoError(t, err)
		}
	}
	require.Equal(t, stored, rows(), "re-evaluating in pieces doubles nothing")

	// The weekly report lists the alerts of a week.
	week := from.Add(7 * 24 * time.Hour)
	listed, err := st.ListAlerts(ctx, week, week.Add(7*24*time.Hour))
	require.NoError(t, err)
	inWeek := 0
	for _, a := range res.Alerts {
		if a.StartsAt.Before(week.Add(7*24*time.Hour)) && (a.Firing() || !a.EndsAt.Before(week)) {
			inWeek++
		}
	}
	require.Len(t, listed, inWeek)
}

// writeRollups writes the scenario's per-minute counts with the store's
// writer, a day per batch: the rollups, hourly rollups and error groups
// that ingesting its records writes. It returns the calls counted.
func writeRollups(t testing.TB, st *store.Store, s synth.Scenario) int64 {
	t.Helper()
	ctx := testCtx(t, 10*time.Minute)
	stream, err := s.Stream()
	require.NoError(t, err)
	classify := classifierFunc(t)
	src := store.Source{Group: "scenario", Topic: "rollups"}
	offset := store.NoOffset
	var calls int64
	var b *store.Batch
	groups := map[string]*store.GroupDelta{}
	flush := func() {
		for _, g := range groups {
			b.Groups = append(b.Groups, *g)
		}
		b.NextOffset = max(offset, 0) + 1
		require.NoError(t, st.WriteBatch(ctx, b))
		offset, b, groups = b.NextOffset, nil, map[string]*store.GroupDelta{}
	}
	for {
		m, ok, err := stream.NextMinute(classify)
		require.NoError(t, err)
		if !ok {
			break
		}
		if b != nil && m.Time.Hour() == 0 && m.Time.Minute() == 0 {
			flush()
		}
		if b == nil {
			b = &store.Batch{Source: src, ExpectedOffset: offset}
		}
		for _, r := range m.Requests {
			calls += r.Requests
			b.Requests = append(b.Requests, store.RequestRollup{Minute: m.Time, Provider: r.Provider,
				Endpoint: strings.TrimSpace(r.Method + " " + r.Endpoint), Requests: r.Requests, Errors: r.Errors})
		}
		byKey := map[[4]string]int64{}
		for _, e := range m.Errors {
			byKey[[4]string{e.Provider, e.Category, e.Code, e.Subcode}] += e.Count
			fp := strings.Join([]string{e.Provider, e.Category, e.Code, e.Subcode, e.Method, e.Endpoint}, "|")
			g := groups[fp]
			if g == nil {
				g = &store.GroupDelta{Fingerprint: fp, Provider: e.Provider, Code: e.Code, Subcode: e.Subcode, Method: e.Method,
					Endpoint: e.Endpoint, Category: classifyCategory(e.Category), FirstSeen: m.Time, SampleEvent: -1}
				groups[fp] = g
			}
			g.LastSeen = m.Time.Add(time.Minute - time.Millisecond)
			g.Count += e.Count
		}
		for k, n := range byKey {
			b.Errors = append(b.Errors, store.ErrorRollup{Minute: m.Time, Provider: k[0], Category: classifyCategory(k[1]),
				Code: k[2], Subcode: k[3], Count: n})
		}
	}
	if b != nil {
		flush()
	}
	return calls
}
