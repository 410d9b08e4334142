package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// Error groups: each kind of error (a provider, code and subcode, method
// and endpoint: the fingerprint) with its count in a window, its hourly
// counts, when it was first and last seen, and whether it is new or came
// back. Counts come from each group's hourly counts (rollup_groups_hourly),
// so a window is whole UTC hours: its start is rounded down to the hour,
// its end up.
//
// A group is new when its first event ever stored is in the window. It
// regressed when it had been seen before, then not for RegressedAfter or
// more, and is back in the window: no event in the 7 × 24 whole hours
// before the hour it first shows in the window, and events before those.

// RegressedAfter is how long a group must have been silent before it
// counts as regressed when it comes back.
const RegressedAfter = 7 * 24 * time.Hour

// Groups windows and lists.
const (
	DefaultGroupsWindow = 24 * time.Hour
	MaxGroupsWindow     = 90 * 24 * time.Hour
)

// The orders of a groups list.
const (
	SortCount = "count" // most events in the window first
	SortNew   = "new"   // first seen last first: new groups on top
	SortLast  = "last"  // last seen last first
)

// GroupSorts are the orders a list takes.
var GroupSorts = []string{SortCount, SortNew, SortLast}

// GroupReader reads error groups (store.Store does).
type GroupReader interface {
	ReadGroupHours(ctx context.Context, from, to time.Time, fingerprint string) ([]store.GroupHour, error)
	ReadGroups(ctx context.Context, q store.GroupsQuery) ([]store.Group, error)
	GetGroup(ctx context.Context, fingerprint string, back time.Time) (store.Group, error)
	ReadGroupEvents(ctx context.Context, fingerprint string, from, to time.Time, limit, maxRead int) (*store.GroupEvents, error)
	ReadEvent(ctx context.Context, id int64, ts time.Time) (store.FoundEvent, error)
}

// GroupsOptions ask for the groups seen in a window.
type GroupsOptions struct {
	// From and To bound the window (widened to whole hours): by default the
	// DefaultGroupsWindow before now; at most MaxGroupsWindow.
	From, To time.Time
	// Provider and Category narrow the list ("": any).
	Provider, Category string
	// Sort is count (default), new or last.
	Sort string
	// Limit bounds the groups listed (0: all).
	Limit int
	// Catalogs give the remediation; nil is the built-in catalogs.
	Catalogs *classify.Catalogs
	// Days, when set, returns every group's hours of [first, last) (whole
	// UTC days that ended at least DaySettled before Now), a slice a day,
	// from wherever the caller keeps them (read only). Nil reads the
	// whole window at once.
	Days func(ctx context.Context, first, last time.Time) ([][]store.GroupHour, error)
	// Now is the clock (zero: time.Now).
	Now time.Time
}

// Groups is a list of error groups.
type Groups struct {
	From   time.Time      `json:"from"`
	To     time.Time      `json:"to"`
	Sort   string         `json:"sort"`
	Groups []GroupSummary `json:"groups"`
	// Truncated is set when more groups than the limit were seen.
	Truncated bool `json:"truncated"`
}

// GroupSummary is one error group over a window.
type GroupSummary struct {
	// ID is the group's fingerprint: /groups/{id} in the console.
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Code     string `json:"code"`
	Subcode  string `json:"subcode"`
	Method   string `json:"method"`
	Endpoint string `json:"endpoint"`
	Category string `json:"category"`
	// Count is its events in the window, Total ever stored.
	Count     int64     `json:"count"`
	Total     int64     `json:"total"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	New       bool      `json:"new"`
	Regressed bool      `json:"regressed"`
	// SeenBefore is when it was last seen before the window, to the hour
	// (null: not since the hourly counts kept).
	SeenBefore *time.Time `json:"seen_before,omitempty"`
	// Hourly are its events in each hour of the window, from From.
	Hourly []int64 `json:"hourly"`
	// Status is the HTTP status of its latest event (0: not known).
	Status      int    `json:"status"`
	Cause       string `json:"cause,omitempty"`
	Remediation string `json:"remediation"`
}

// groupWindow resolves a window (at most MaxGroupsWindow) and widens it to
// whole hours.
func groupWindow(from, to, now time.Time) (time.Time, time.Time, error) {
	from, to, err := window(from, to, now, DefaultGroupsWindow, MaxGroupsWindow)
	if err != nil {
		return from, to, err
	}
	if t := to.Truncate(time.Hour); t.Before(to) {
		to = t.Add(time.Hour)
	}
	return from.Truncate(time.Hour), to, nil
}

// Check refuses options ListGroups would refuse without reading anything:
// an error wrapping ErrBadQuery.
func (o *GroupsOptions) Check() error {
	_, _, _, err := o.resolve()
	return err
}

func (o *GroupsOptions) resolve() (sortBy string, from, to time.Time, err error) {
	sortBy = cmp.Or(o.Sort, SortCount)
	if !slices.Contains(GroupSorts, sortBy) {
		return "", from, to, fmt.Errorf("%w: sort %q, want one of %s", ErrBadQuery, o.Sort, strings.Join(GroupSorts, ", "))
	}
	if o.Limit < 0 {
		return "", from, to, fmt.Errorf("%w: limit %d", ErrBadQuery, o.Limit)
	}
	from, to, err = groupWindow(o.From, o.To, o.Now)
	return sortBy, from, to, err
}

// ListGroups lists the groups seen in the window. Bad options are an
// error wrapping ErrBadQuery.
func ListGroups(ctx context.Context, src GroupReader, o GroupsOptions) (*Groups, error) {
	sortBy, from, to, err := o.resolve()
	if err != nil {
		return nil, err
	}
	cats, err := catalogsOr(o.Catalogs)
	if err != nil {
		return nil, err
	}
	hours, err := readGroupHours(ctx, src, from, to, o.Days, o.Now)
	if err != nil {
		return nil, err
	}
	byGroup := groupHours(hours, from, to)
	q := store.GroupsQuery{Provider: o.Provider, Category: o.Category}
	for _, fp := range slices.Sorted(maps.Keys(byGroup)) {
		q.Fingerprints, q.Back = append(q.Fingerprints, fp), append(q.Back, byGroup[fp].back)
	}
	list, err := src.ReadGroups(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &Groups{From: from, To: to, Sort: sortBy, Groups: make([]GroupSummary, 0, len(list))}
	for i := range list {
		out.Groups = append(out.Groups, summarise(&list[i], byGroup[list[i].Fingerprint], from, cats))
	}
	slices.SortFunc(out.Groups, func(a, b GroupSummary) int {
		byLast := cmp.Or(b.LastSeen.Compare(a.LastSeen), cmp.Compare(a.ID, b.ID))
		switch sortBy {
		case SortNew:
			return cmp.Or(b.FirstSeen.Compare(a.FirstSeen), byLast)
		case SortLast:
			return byLast
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), byLast)
	})
	if o.Limit > 0 && len(out.Groups) > o.Limit {
		out.Groups, out.Truncated = out.Groups[:o.Limit], true
	}
	return out, nil
}

// readGroupHours reads every group's hours of [from, to): settled days
// from days when given, the rest from src; in parts, as they come.
func readGroupHours(ctx context.Context, src GroupReader, from, to time.Time,
	days func(ctx context.Context, first, last time.Time) ([][]store.GroupHour, error), now time.Time) ([][]store.GroupHour, error) {
	first, last := to, to
	if days != nil {
		first, last = settledDays(from, to, now)
	}
	var parts [][]store.GroupHour
	for _, part := range []store.TimeRange{{From: from, To: first}, {From: last, To: to}} {
		if part.From.Before(part.To) {
			h, err := src.ReadGroupHours(ctx, part.From, part.To, "")
			if err != nil {
				return nil, err
			}
			parts = append(parts, h)
		}
	}
	if first.Before(last) {
		h, err := days(ctx, first, last)
		if err != nil {
			return nil, err
		}
		parts = append(parts, h...)
	}
	return parts, nil
}

// settledDays are the whole UTC days of [from, to) that ended at least
// DaySettled before now: [first, last), empty (first = last = to) when
// none.
func settledDays(from, to, now time.Time) (first, last time.Time) {
	const day = 24 * time.Hour
	if now.IsZero() {
		now = time.Now()
	}
	first, last = from.Truncate(day), to.Truncate(day)
	if first.Before(from) {
		first = first.Add(day)
	}
	if settled := now.UTC().Add(-DaySettled).Truncate(day); settled.Before(last) {
		last = settled
	}
	if !first.Before(last) {
		return to, to
	}
	return first, last
}

// hoursOf are one group's counts per hour of a window and the first hour
// it has events in.
type hoursOf struct {
	hourly []int64
	count  int64
	back   time.Time
}

// groupHours adds up the hours of each group over [from, to).
func groupHours(parts [][]store.GroupHour, from, to time.Time) map[string]*hoursOf {
	n := int(to.Sub(from) / time.Hour)
	out := map[string]*hoursOf{}
	for _, part := range parts {
		for i := range part {
			h := &part[i]
			k := int(h.Hour.Sub(from) / time.Hour)
			if h.Hour.Before(from) || k >= n || h.Count == 0 {
				continue
			}
			g := out[h.Fingerprint]
			if g == nil {
				g = &hoursOf{hourly: make([]int64, n)}
				out[h.Fingerprint] = g
			}
			g.hourly[k] += h.Count
			g.count += h.Count
			if g.back.IsZero() || h.Hour.Before(g.back) {
				g.back = h.Hour
			}
		}
	}
	return out
}

// summarise describes g over the window from from, with its hours h (nil:
// none in the window).
func summarise(g *store.Group, h *hoursOf, from time.Time, cats *classify.Catalogs) GroupSummary {
	s := GroupSummary{ID: g.Fingerprint, Provider: g.Provider, Code: g.Code, Subcode: g.Subcode, Method: g.Method,
		Endpoint: g.Endpoint, Category: g.Category, Total: g.Total, FirstSeen: g.FirstSeen, LastSeen: g.LastSeen,
		Status: g.SampleStatus, Hourly: []int64{}}
	if h != nil {
		s.Hourly, s.Count = h.hourly, h.count
	}
	s.New = !g.FirstSeen.Before(from)
	if !g.LastBefore.IsZero() {
		before := g.LastBefore
		s.SeenBefore = &before
	}
	if !s.New && h != nil {
		silentSince := h.back.Add(-RegressedAfter) // the hour it shows first in the window, less a week
		if g.LastBefore.IsZero() {
			s.Regressed = g.FirstSeen.Before(silentSince) // seen before the hourly counts kept
		} else {
			s.Regressed = g.LastBefore.Before(silentSince)
		}
	}
	s.Cause, s.Remediation = catalogWords(cats.Provider(g.Provider), g.Code, g.SampleStatus, g.Method, g.Endpoint)
	return s
}

// WriteJSON writes the list as {"groups": […], "from", "to", "sort"}.
func (g *Groups) WriteJSON(w io.Writer) error { return writeJSON(w, g) }

// WriteText writes the list for people, a few lines per group.
func (g *Groups) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s seen from %s to %s, by %s.\n", plural(len(g.Groups), "error group", "error groups"),
		g.From.Format(time.RFC3339), g.To.Format(time.RFC3339), g.Sort)
	for i := range g.Groups {
		s := &g.Groups[i]
		mark := ""
		switch {
		case s.New:
			mark = "  NEW"
		case s.Regressed:
			mark = "  REGRESSED"
		}
		code := oneLine(strings.TrimSpace(s.Code + " " + s.Subcode))
		if code == "" {
			code = fmt.Sprintf("(no code, status %d)", s.Status)
		}
		ew.printf("\n%s %s  %s%s\n", oneLine(s.Provider), code, oneLine(s.Category), mark)
		ew.printf("  %s %s\n", oneLine(s.Method), oneLine(s.Endpoint))
		ew.printf("  %s in the window  %s\n", group(s.Count), Sparkline(s.Hourly, 48))
		ew.printf("  first seen %s, last seen %s\n", s.FirstSeen.Format("2006-01-02 15:04 MST"), s.LastSeen.Format("2006-01-02 15:04 MST"))
		if s.Remediation != "" {
			ew.printf("  remedy: %s\n", wrapText(s.Remediation, Width-10, "          "))
		}
		ew.printf("  group %s\n", s.ID)
	}
	if g.Truncated {
		ew.printf("\nMore groups were seen: these are the first %d (--limit shows more).\n", len(g.Groups))
	}
	return ew.err
}

// Sparkline draws counts as a line of block characters (▁ to █), at most
// width of them (Fit). A count of zero is a space.
func Sparkline(counts []int64, width int) string {
	sums := Fit(counts, width)
	var most int64
	for _, n := range sums {
		most = max(most, n)
	}
	blocks := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, n := range sums {
		switch {
		case n == 0:
			b.WriteByte(' ')
		default:
			b.WriteRune(blocks[min(int((n*int64(len(blocks))-1)/most), len(blocks)-1)])
		}
	}
	return b.String()
}

// Fit adds up neighbouring counts, as many each time, so that there are at
// most n of them: what a sparkline of n points draws.
func Fit(counts []int64, n int) []int64 {
	if len(counts) == 0 || n <= 0 {
		return nil
	}
	per := (len(counts) + n - 1) / n
	sums := make([]int64, 0, n)
	for i := 0; i < len(counts); i += per {
		var s int64
		for _, c := range counts[i:min(i+per, len(counts))] {
			s += c
		}
		sums = append(sums, s)
	}
	return sums
}

// Group is one error group over a window, with its latest events.
type Group struct {
	GroupSummary
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Latest are its latest events in the window, newest first.
	Latest []SearchEvent `json:"latest"`
	// Tenants and Services affected, most events first, among the latest
	// Read events of the window (Sampled: the window has more).
	Tenants  []NameCount `json:"tenants"`
	Services []NameCount `json:"services"`
	Read     int         `json:"read"`
	Sampled  bool        `json:"sampled"`
	// Escalation is the block of its latest event, for the provider's
	// support (nil when no event of it is stored any more).
	Escalation *Escalation `json:"escalation"`
}

// NameCount counts the events of a tenant or a service.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// DefaultGroupRead is how many of a group's latest events of a window the
// tenants and services affected are counted over: each is a read of its
// row, and a big group's week has hundreds of thousands.
const DefaultGroupRead = 2000

// GroupOptions ask for one group over a window.
type GroupOptions struct {
	From, To time.Time
	// Latest bounds the events listed (0: 20); MaxRead those tenants and
	// services are counted over (0: DefaultGroupRead).
	Latest, MaxRead int
	Catalogs        *classify.Catalogs
	Location        *time.Location
	Now             time.Time
}

// ErrNoGroup means no error group has the id given.
var ErrNoGroup = store.ErrNoGroup

// ReadGroup describes the group of id over the window. An unknown id is
// an error wrapping ErrNoGroup.
func ReadGroup(ctx context.Context, src GroupReader, id string, o GroupOptions) (*Group, error) {
	cats, err := catalogsOr(o.Catalogs)
	if err != nil {
		return nil, err
	}
	from, to, err := groupWindow(o.From, o.To, o.Now)
	if err != nil {
		return nil, err
	}
	hours, err := src.ReadGroupHours(ctx, from, to, id)
	if err != nil {
		return nil, err
	}
	h := groupHours([][]store.GroupHour{hours}, from, to)[id]
	back := to // no events in the window: when it was seen last before its end
	if h != nil {
		back = h.back
	}
	g, err := src.GetGroup(ctx, id, back)
	if err != nil {
		return nil, err
	}
	out := &Group{GroupSummary: summarise(&g, h, from, cats), From: from, To: to, Latest: []SearchEvent{},
		Tenants: []NameCount{}, Services: []NameCount{}}
	if h == nil {
		out.Hourly = make([]int64, int(to.Sub(from)/time.Hour))
	}
	evs, err := src.ReadGroupEvents(ctx, id, from, to, cmp.Or(o.Latest, 20), cmp.Or(o.MaxRead, DefaultGroupRead))
	if err != nil {
		return nil, err
	}
	for i := range evs.Events {
		out.Latest = append(out.Latest, searchEvent(&evs.Events[i]))
	}
	out.Read, out.Sampled = evs.Read, evs.Sampled
	out.Tenants, out.Services = byCount(evs.Tenants), byCount(evs.Services)
	// The escalation block of its latest event: in the window, else the
	// group's newest stored.
	var latest store.FoundEvent
	switch {
	case len(evs.Events) > 0:
		latest, err = src.ReadEvent(ctx, evs.Events[0].ID, evs.Events[0].TS)
	case g.SampleEventID != 0:
		latest, err = src.ReadEvent(ctx, g.SampleEventID, g.SampleTS)
	default:
		return out, nil
	}
	if errors.Is(err, store.ErrNotStored) {
		return out, nil // retention dropped it meanwhile
	}
	if err != nil {
		return nil, err
	}
	e := describe(&latest, cats, locationOr(o.Location))
	out.Escalation = &e.Escalation
	return out, nil
}

func byCount(m map[string]int64) []NameCount {
	out := make([]NameCount, 0, len(m))
	for k, n := range m {
		out = append(out, NameCount{k, n})
	}
	slices.SortFunc(out, func(a, b NameCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	return out
}

// WriteJSON writes the group as one JSON object.
func (g *Group) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}
