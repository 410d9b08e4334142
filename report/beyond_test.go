package report_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// searcher answers searches with pages of n made-up events per query, and
// remembers the queries.
type searcher struct {
	queries []store.SearchQuery
	more    bool
}

func (s *searcher) SearchEvents(_ context.Context, q store.SearchQuery) (*store.SearchPage, error) {
	s.queries = append(s.queries, q)
	p := &store.SearchPage{More: s.more}
	for i := range 2 {
		p.Events = append(p.Events, store.SearchEvent{ID: int64(100 - i), TS: q.To.Add(-time.Duration(i+1) * time.Minute),
			Provider: "finix", Tenant: "acme", CorrelationID: fmt.Sprint("logref-", i), TraceID: "trace"})
	}
	return p, nil
}

// A search's next page is keyed on the last event shown, within the window
// the first page resolved; a cursor is refused when altered to something
// that cannot be one, made for other filters or another window, or not a
// search's.
func TestSearchCursors(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	src := &searcher{more: true}
	o := report.SearchOptions{Tenant: "acme", Category: "decline", Now: now}
	first, err := report.Search(context.Background(), src, o)
	require.NoError(t, err)
	require.Equal(t, now.Add(-24*time.Hour), first.From, "the last 24 hours by default")
	require.Equal(t, now, first.To)
	require.NotNil(t, first.Next)
	require.Equal(t, "logref-0", first.Events[0].Lookup)

	// The next page, a day later: the cursor's window, not a new one.
	o.After, o.Now = *first.Next, now.Add(24*time.Hour)
	second, err := report.Search(context.Background(), src, o)
	require.NoError(t, err)
	q := src.queries[1]
	require.Equal(t, first.From, q.From)
	require.Equal(t, first.To, q.To)
	require.Equal(t, first.Events[1].TS, q.AfterTS)
	require.EqualValues(t, 99, q.AfterID)
	require.Equal(t, first.From, second.From)

	bad := func(name string, o report.SearchOptions) {
		t.Helper()
		_, err := report.Search(context.Background(), src, o)
		require.ErrorIs(t, err, report.ErrBadQuery, name)
		require.ErrorContains(t, err, "cursor", name)
	}
	raw, err := base64.RawURLEncoding.DecodeString(*first.Next)
	require.NoError(t, err)
	alter := func(at int, b byte) string {
		c := append([]byte(nil), raw...)
		c[at] = b
		return base64.RawURLEncoding.EncodeToString(c)
	}
	for name, after := range map[string]string{
		"garbage":               "not a cursor",
		"truncated":             (*first.Next)[:20],
		"another version":       alter(0, 9),
		"an alert history's":    alter(1, 'a'),
		"a window that is none": alter(3, 0x7f),  // from after to
		"a negative event id":   alter(27, 0x80), // a negative id
		"other filters' hash":   alter(40, raw[40]^1),
		"padding on the end":    *first.Next + "AA",
		"a bad flag":            alter(2, 7),
	} {
		bad(name, report.SearchOptions{Tenant: "acme", Category: "decline", After: after, Now: now})
	}
	bad("other filters", report.SearchOptions{Tenant: "acme", Category: "auth", After: *first.Next, Now: now})
	bad("another tenant", report.SearchOptions{Tenant: "globex", Category: "decline", After: *first.Next, Now: now})
	_, err = report.Search(context.Background(), src, report.SearchOptions{Tenant: "acme", Category: "decline",
		After: *first.Next, From: first.From.Add(time.Hour), Now: now})
	require.ErrorIs(t, err, report.ErrBadQuery, "a cursor with another window")

	for name, o := range map[string]report.SearchOptions{
		"no scope":             {Category: "decline", Now: now},
		"a window too long":    {Tenant: "acme", From: now.Add(-32 * 24 * time.Hour), To: now, Now: now},
		"from after to":        {Tenant: "acme", From: now, To: now.Add(-time.Hour), Now: now},
		"not a status":         {Tenant: "acme", Status: 700, Now: now},
		"a limit too high":     {Tenant: "acme", Limit: report.MaxSearchLimit + 1, Now: now},
		"31 days and a second": {Tenant: "acme", From: now.Add(-report.MaxSearchWindow - time.Second), To: now, Now: now},
	} {
		require.ErrorIs(t, o.Check(), report.ErrBadQuery, name)
	}
	require.NoError(t, (&report.SearchOptions{Tenant: "acme", From: now.Add(-report.MaxSearchWindow), To: now}).Check(), "31 days exactly")

	var b bytes.Buffer
	require.NoError(t, first.WriteJSON(&b))
	var doc struct {
		Events []map[string]any `json:"events"`
		Next   *string          `json:"next"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	require.Equal(t, *first.Next, *doc.Next)
	for _, k := range []string{"provider", "tenant", "service", "ts", "code", "correlation_id", "lookup", "group"} {
		require.Contains(t, doc.Events[0], k)
	}
	src.more = false
	last, err := report.Search(context.Background(), src, report.SearchOptions{Tenant: "acme", Now: now})
	require.NoError(t, err)
	b.Reset()
	require.NoError(t, last.WriteJSON(&b))
	require.Contains(t, b.String(), `"next": null`, "the last page")
}

// groupSource is error groups in memory: a group's hours and what the
// store knows of it.
type groupSource struct {
	hours  []store.GroupHour
	groups map[string]store.Group
}

func (s *groupSource) ReadGroupHours(_ context.Context, from, to time.Time, fp string) ([]store.GroupHour, error) {
	var out []store.GroupHour
	for _, h := range s.hours {
		if !h.Hour.Before(from) && h.Hour.Before(to) && (fp == "" || h.Fingerprint == fp) {
			out = append(out, h)
		}
	}
	return out, nil
}

func (s *groupSource) ReadGroups(_ context.Context, q store.GroupsQuery) ([]store.Group, error) {
	var out []store.Group
	for i, fp := range q.Fingerprints {
		g, ok := s.groups[fp]
		if !ok {
			continue
		}
		g.LastBefore = time.Time{}
		for _, h := range s.hours {
			if h.Fingerprint == fp && h.Hour.Before(q.Back[i]) && h.Hour.After(g.LastBefore) {
				g.LastBefore = h.Hour
			}
		}
		out = append(out, g)
	}
	return out, nil
}

func (s *groupSource) GetGroup(ctx context.Context, fp string, back time.Time) (store.Group, error) {
	g, _ := s.ReadGroups(ctx, store.GroupsQuery{Fingerprints: []string{fp}, Back: []time.Time{back}})
	if len(g) == 0 {
		return store.Group{}, store.ErrNoGroup
	}
	return g[0], nil
}

func (s *groupSource) ReadGroupEvents(context.Context, string, time.Time, time.Time, int, int) (*store.GroupEvents, error) {
	return &store.GroupEvents{Tenants: map[string]int64{}, Services: map[string]int64{}}, nil
}

func (s *groupSource) ReadEvent(context.Context, int64, time.Time) (store.FoundEvent, error) {
	return store.FoundEvent{}, store.ErrNotStored
}

// New is first seen in the window; regressed is back in the window after
// 7 × 24 whole hours without an event, having been seen before: tested at
// the threshold (the 168th hour before had an event: not regressed) and
// an hour either side.
func TestGroupsNewAndRegressed(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	from := now.Add(-24 * time.Hour)
	back := from.Add(5 * time.Hour) // every group shows first in the window then
	src := &groupSource{groups: map[string]store.Group{}}
	add := func(fp string, firstSeen time.Time, hours ...time.Time) {
		src.groups[fp] = store.Group{Fingerprint: fp, Provider: "finix", Code: "C_" + fp, Category: "decline", FirstSeen: firstSeen, LastSeen: back}
		for _, h := range append(hours, back) {
			src.hours = append(src.hours, store.GroupHour{Hour: h, Fingerprint: fp, Count: 3})
		}
	}
	add("new", back)
	add("steady", now.Add(-30*24*time.Hour), from.Add(-time.Hour))
	add("silent-169h", now.Add(-30*24*time.Hour), back.Add(-169*time.Hour))
	add("silent-168h", now.Add(-30*24*time.Hour), back.Add(-168*time.Hour))
	add("silent-167h", now.Add(-30*24*time.Hour), back.Add(-167*time.Hour))
	add("before-the-counts", now.Add(-300*24*time.Hour)) // seen, but before the hourly counts kept
	g, err := report.ListGroups(context.Background(), src, report.GroupsOptions{Now: now, Sort: report.SortNew})
	require.NoError(t, err)
	require.Equal(t, from, g.From)
	require.Equal(t, now, g.To)
	got := map[string][2]bool{}
	for _, s := range g.Groups {
		got[s.ID] = [2]bool{s.New, s.Regressed}
		require.EqualValues(t, 3, s.Count, s.ID)
		require.Len(t, s.Hourly, 24)
		require.EqualValues(t, 3, s.Hourly[5], s.ID)
	}
	require.Equal(t, map[string][2]bool{
		"new": {true, false}, "steady": {false, false},
		"silent-169h": {false, true}, "silent-168h": {false, false}, "silent-167h": {false, false},
		"before-the-counts": {false, true},
	}, got)
	require.Equal(t, "new", g.Groups[0].ID, "new groups first when sorted by new")

	// A window that does not end on an hour is widened to whole hours.
	g, err = report.ListGroups(context.Background(), src, report.GroupsOptions{From: from.Add(10 * time.Minute), To: now.Add(-50 * time.Minute), Now: now})
	require.NoError(t, err)
	require.Equal(t, from, g.From)
	require.Equal(t, now, g.To)
	for _, o := range []report.GroupsOptions{{Sort: "size"}, {Limit: -1}, {From: now.Add(-91 * 24 * time.Hour)}} {
		o.Now = now
		require.ErrorIs(t, o.Check(), report.ErrBadQuery)
	}
	require.NoError(t, (&report.GroupsOptions{Now: now, From: now.Add(-90 * 24 * time.Hour).Add(-30 * time.Minute), To: now.Add(-30 * time.Minute)}).Check(),
		"90 days that do not end on an hour")
}

func TestSparkline(t *testing.T) {
	require.Equal(t, "", report.Sparkline(nil, 10))
	require.Equal(t, "▁ █", report.Sparkline([]int64{1, 0, 8}, 10))
	require.Equal(t, "▂█", report.Sparkline([]int64{1, 1, 4, 4}, 2), "neighbours added up to fit")
	require.Equal(t, 42, len([]rune(report.Sparkline(make([]int64, 168), 48))), "a week in 4-hour steps: at most 48")
}

// incidentSource is an alert and its incident in memory.
type incidentSource struct {
	alert store.Alert
	inc   store.Incident
	q     store.IncidentQuery
}

func (s *incidentSource) GetAlert(_ context.Context, id int64) (store.Alert, error) {
	if id != s.alert.ID {
		return store.Alert{}, store.ErrNoAlert
	}
	return s.alert, nil
}

func (s *incidentSource) ReadIncident(_ context.Context, q store.IncidentQuery) (*store.Incident, error) {
	s.q = q
	return &s.inc, nil
}

// An escalation asks for the alert's errors over its window, and lists 15
// distinct sample ids taken across the strata (a stratum with many ids
// gives more only when others have none), in time order, under the
// provider's names, with exact counts and the sampled statuses and
// endpoints.
func TestEscalationSamples(t *testing.T) {
	start := time.Date(2026, 11, 21, 13, 8, 0, 0, time.UTC)
	src := &incidentSource{alert: store.Alert{ID: 7, Rule: "decline_spike", Provider: "finix", Category: "decline", Code: "DECLINED",
		Subcode: "INSUFFICIENT_FUNDS", Series: `["DECLINED","INSUFFICIENT_FUNDS"]`, Severity: "warning",
		StartsAt: start, EndsAt: start.Add(40 * time.Minute), LastEvaluated: start.Add(40 * time.Minute), Summary: "finix declines"}}
	src.inc.Errors, src.inc.Requests = 88, 278
	src.inc.Codes = []store.CodeCount{{Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS", Count: 88}}
	for i := range 15 {
		s := store.Stratum{From: start.Add(time.Duration(i) * 160 * time.Second), To: start.Add(time.Duration(i+1) * 160 * time.Second)}
		n := 0
		switch {
		case i < 5:
			n = 4 // the busy start
		case i < 10:
			n = 0 // quiet
		default:
			n = 1
		}
		for j := range n {
			id := fmt.Sprintf("logref-%02d-%d", i, j)
			if j == 1 {
				id = fmt.Sprintf("logref-%02d-0", i) // a retry of the same request
			}
			status := 402
			if j == 3 {
				status = 500
			}
			s.Events = append(s.Events, store.IncidentEvent{ID: int64(100*i + j), TS: s.To.Add(-time.Duration(j+1) * time.Second),
				Status: status, Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS", Method: "POST", Endpoint: "/authorizations",
				CorrelationID: id, References: []string{"AU" + id}})
		}
		if i == 11 {
			s.Events = append(s.Events, store.IncidentEvent{ID: 9999, TS: s.From, Status: 0, Method: "POST", Endpoint: "/transfers"}) // no id
		}
		src.inc.Strata = append(src.inc.Strata, s)
	}
	x, err := report.Escalate(context.Background(), src, 7, report.EscalateOptions{})
	require.NoError(t, err)
	require.Equal(t, store.IncidentQuery{Provider: "finix", Categories: []string{"decline"}, Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS",
		From: start, To: start.Add(40 * time.Minute), Strata: report.EscalationStrata, PerStratum: 100}, src.q)
	require.InDelta(t, 88.0/278, x.Rate, 1e-9)
	// Ids: 5 busy strata × 3 distinct + 5 single ones = 20 available;
	// round one takes one of each of the 10 strata with ids, round two a
	// second of the busy ones.
	require.Len(t, x.Samples, report.EscalationSamples)
	seen := map[string]bool{}
	for i, s := range x.Samples {
		require.False(t, seen[s.ID], "distinct: %s", s.ID)
		seen[s.ID] = true
		require.Equal(t, "logref", s.Name)
		require.Equal(t, []report.NamedID{{Name: "authorization", Value: "AU" + s.ID}}, s.References)
		if i > 0 {
			require.False(t, s.TS.Before(x.Samples[i-1].TS), "in time order")
		}
	}
	for i := 10; i < 15; i++ {
		require.True(t, seen[fmt.Sprintf("logref-%02d-0", i)], "every stratum with an id gives one")
	}
	require.Equal(t, []report.StatusCount{{Status: 402, Count: 20}, {Status: 500, Count: 5}, {Status: 0, Count: 1}}, x.Statuses)
	require.Equal(t, []report.EndpointErrors{{Endpoint: "POST /authorizations", Count: 25}, {Endpoint: "POST /transfers", Count: 1}}, x.Endpoints)
	require.Equal(t, "resolved", x.Alert.Status)

	text := x.Text()
	for _, want := range []string{
		"escalation: paste to finix support (an incident, not one request)\n",
		"  errors: decline DECLINED (failure_code INSUFFICIENT_FUNDS)\n",
		"  window: 2026-11-21T13:08:00Z to 2026-11-21T13:48:00Z (40 min)\n",
		"  failed: 88 of our 278 requests (31.65%)\n",
		"  statuses: 402 20, 500 5, no response 1\n",
		"  sample requests (logref, time, status; endpoint, code):\n",
		"    logref-00-0  2026-11-21T13:10:39.000Z  402\n      POST /authorizations, DECLINED (failure_code INSUFFICIENT_FUNDS),\n      authorization AUlogref-00-0\n",
		"finix asks: Send the logref",
	} {
		require.Contains(t, text, want)
	}
	for _, line := range strings.Split(text, "\n") {
		require.LessOrEqual(t, len([]rune(line)), report.Width, line)
	}
	var b bytes.Buffer
	require.NoError(t, x.WriteJSON(&b))
	var doc struct {
		Alert   map[string]any   `json:"alert"`
		Samples []map[string]any `json:"samples"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	require.EqualValues(t, 7, doc.Alert["id"])
	for _, k := range []string{"id", "ts", "status", "code", "endpoint"} {
		require.Contains(t, doc.Samples[0], k)
	}
	_, err = report.Escalate(context.Background(), src, 8, report.EscalateOptions{})
	require.ErrorIs(t, err, report.ErrNoAlert)
}
