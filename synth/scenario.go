package synth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A Scenario is weeks of traffic from the five providers: volume with daily
// and weekly seasonality (and growth, surges, a Monday-morning ramp), each
// provider's usual mix of errors, and incidents of the kinds the alert
// detectors look for. Its records come out in time order, deterministic
// for a seed (Stream).
//
// Everything is per minute: a provider's requests in a minute are drawn
// from a Poisson law around Rate × share × seasonality × growth × surges;
// each request fails with its provider's rate of each kind of error, plus
// the strength of the incidents running then.
type Scenario struct {
	Seed uint64 `yaml:"seed"`
	// Start is the first minute; Duration how long the traffic lasts.
	Start    time.Time     `yaml:"start"`
	Duration time.Duration `yaml:"duration"`
	// Rate is the requests per minute of all providers together at a
	// weekday's peak hour (15:00 UTC), before growth and surges.
	Rate        float64     `yaml:"rate"`
	Seasonality Seasonality `yaml:"seasonality"`
	// Providers default to DefaultProviders.
	Providers []ProviderTraffic `yaml:"providers"`
	Incidents []Incident        `yaml:"incidents"`
	// Surges change volume only: error rates stay as they are.
	Surges []Surge `yaml:"surges"`
	// Blips are a few errors in one minute: noise that must page nobody.
	Blips []Blip `yaml:"blips"`
	// Tenants are merchants with an error mix of their own at a provider
	// (one that declines far more than the others, say).
	Tenants []Tenant `yaml:"tenants"`
}

// Tenant is a merchant with its own share of a provider's requests and
// its own errors. Outside Hours (from, to, UTC hours; none: always) it
// sends nothing.
type Tenant struct {
	Name     string `yaml:"name"`
	Provider string `yaml:"provider"`
	// Share is the tenant's share of the provider's requests while it is
	// active, on top of the others'.
	Share float64 `yaml:"share"`
	// Errors are the shares of the tenant's requests failing with each
	// kind of error; kinds not given take the provider's.
	Errors map[string]float64 `yaml:"errors"`
	Hours  [2]int             `yaml:"hours"`
}

func (tn *Tenant) active(t time.Time) bool {
	if tn.Hours == [2]int{} {
		return true
	}
	h := t.Hour()
	if tn.Hours[0] <= tn.Hours[1] {
		return h >= tn.Hours[0] && h < tn.Hours[1]
	}
	return h >= tn.Hours[0] || h < tn.Hours[1]
}

// Seasonality shapes volume over the day and the week.
type Seasonality struct {
	// Daily is the depth of the night trough: volume at 03:00 UTC is
	// (1 - Daily) of the 15:00 peak. 0 is flat.
	Daily float64 `yaml:"daily"`
	// Weekend multiplies volume on Saturdays and Sundays.
	Weekend float64 `yaml:"weekend"`
	// MondayRamp adds this share of volume on Monday mornings, rising
	// from 07:00 to a peak at 09:00 UTC and gone by 12:00.
	MondayRamp float64 `yaml:"monday_ramp"`
}

// ProviderTraffic is one provider's part of the traffic.
type ProviderTraffic struct {
	Name string `yaml:"name"`
	// Share is the provider's share of Rate.
	Share float64 `yaml:"share"`
	// Growth is the volume multiplier reached at the end of the scenario,
	// growing steadily from 1 at its start (3: steady 3× growth).
	Growth float64 `yaml:"growth"`
	// Errors are the shares of requests failing with each kind of error
	// (a taxonomy category); kinds not given take the provider's defaults.
	Errors map[string]float64 `yaml:"errors"`
}

// IncidentKind names an incident: what the alert rule that should catch it
// is called.
type IncidentKind string

// The incident kinds.
const (
	DeclineSpike      IncidentKind = "decline_spike"
	ExpiredTokenStorm IncidentKind = "expired_token_storm"
	ProviderOutage    IncidentKind = "provider_outage"
	RateLimitStorm    IncidentKind = "rate_limit_storm"
	AuthFailure       IncidentKind = "auth_failure"
	NewCode           IncidentKind = "new_code"
)

// IncidentKinds lists every kind.
var IncidentKinds = []IncidentKind{DeclineSpike, ExpiredTokenStorm, ProviderOutage, RateLimitStorm, AuthFailure, NewCode}

// Incident is a stretch of time when a provider fails more, one way.
type Incident struct {
	Kind     IncidentKind  `yaml:"kind"`
	Provider string        `yaml:"provider"`
	Start    time.Time     `yaml:"start"`
	Length   time.Duration `yaml:"length"`
	// Strength is the share of the provider's requests that fail this way
	// during the incident, on top of the usual errors.
	Strength float64 `yaml:"strength"`
	// Code picks one of the kind's codes (a decline spike of one code),
	// or names the new code of a new_code incident; Subcode likewise (a
	// Finix failure_code). Status is a new code's HTTP status (default
	// 409).
	Code    string `yaml:"code"`
	Subcode string `yaml:"subcode"`
	Status  int    `yaml:"status"`
	// Category picks the kind's errors of one category only (timeout:
	// transport errors without a status).
	Category string `yaml:"category"`
	// Endpoint limits the incident to one endpoint of the provider
	// ("POST /transfers", its path as the provider's calls have it with
	// {id} for ids): Strength is then the share of that endpoint's
	// requests failing, the others are fine.
	Endpoint string `yaml:"endpoint"`
	// Ramp makes a slow burn: the strength rises from 0 to Strength over
	// the incident's first Ramp.
	Ramp time.Duration `yaml:"ramp"`
	// Volume multiplies the provider's requests during the incident (a
	// retry loop raises volume and errors at once).
	Volume float64 `yaml:"volume"`
	// Every repeats the incident from Start every period (a weekly
	// maintenance: 168h) until the scenario ends.
	Every time.Duration `yaml:"every"`
}

// End is when the incident stops (its first occurrence, when it repeats).
func (in Incident) End() time.Time { return in.Start.Add(in.Length) }

// Occurrences returns the starts of the incident before end: Start, and
// every Every after it when it repeats.
func (in Incident) Occurrences(end time.Time) []time.Time {
	out := []time.Time{in.Start}
	for t := in.Start.Add(in.Every); in.Every > 0 && t.Before(end); t = t.Add(in.Every) {
		out = append(out, t)
	}
	return out
}

// strength is the share of requests failing in the incident at t (0
// outside it), for one of its occurrences.
func (in *Incident) strength(t time.Time) float64 {
	start := in.Start
	if in.Every > 0 && !t.Before(start) {
		start = start.Add(t.Sub(start) / in.Every * in.Every)
	}
	if t.Before(start) || !t.Before(start.Add(in.Length)) {
		return 0
	}
	if d := t.Sub(start); in.Ramp > 0 && d < in.Ramp {
		return in.Strength * float64(d+time.Minute) / float64(in.Ramp)
	}
	return in.Strength
}

// Surge multiplies the volume of a provider ("" for all) for a while.
type Surge struct {
	Provider string        `yaml:"provider"`
	Start    time.Time     `yaml:"start"`
	Length   time.Duration `yaml:"length"`
	Factor   float64       `yaml:"factor"`
}

// Blip is Count extra errors of a kind at a provider in the minute At.
type Blip struct {
	Provider string    `yaml:"provider"`
	At       time.Time `yaml:"at"`
	Kind     string    `yaml:"kind"`
	Count    int       `yaml:"count"`
}

// ParseScenario reads a scenario from YAML; an unknown key is an error
// that names it. The scenario is checked as Stream checks it.
func ParseScenario(data []byte) (Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return s, fmt.Errorf("scenario: %w", err)
	}
	if _, err := s.normalized(); err != nil {
		return s, err
	}
	return s, nil
}

// normalized returns the scenario with its defaults, or an error naming
// what is wrong.
func (s Scenario) normalized() (Scenario, error) {
	s.Start = s.Start.UTC().Truncate(time.Minute)
	if s.Start.IsZero() {
		s.Start = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	}
	switch {
	case s.Duration < time.Minute:
		return s, fmt.Errorf("scenario: duration must be at least 1m, got %s", s.Duration)
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return s, fmt.Errorf("scenario: rate must be a positive number of requests per minute, got %v", s.Rate)
	case s.Seasonality.Daily < 0 || s.Seasonality.Daily >= 1:
		return s, fmt.Errorf("scenario: seasonality.daily must be in [0, 1), got %v", s.Seasonality.Daily)
	case s.Seasonality.Weekend < 0 || s.Seasonality.MondayRamp < 0:
		return s, errors.New("scenario: seasonality.weekend and monday_ramp must not be negative")
	}
	if s.Seasonality.Weekend == 0 {
		s.Seasonality.Weekend = 1
	}
	defaults := DefaultProviders()
	if len(s.Providers) == 0 {
		s.Providers = defaults
	}
	providers := make([]ProviderTraffic, len(s.Providers))
	for i, p := range s.Providers {
		if templates[p.Name] == nil {
			return s, fmt.Errorf("scenario: providers[%d]: unknown provider %q (finix, finterra, paylera, flexiti, cheers)", i, p.Name)
		}
		if p.Share < 0 || p.Growth < 0 {
			return s, fmt.Errorf("scenario: providers[%d] (%s): share and growth must not be negative", i, p.Name)
		}
		if p.Growth == 0 {
			p.Growth = 1
		}
		errs := map[string]float64{}
		for _, d := range defaults {
			if d.Name == p.Name {
				for k, v := range d.Errors {
					errs[k] = v
				}
			}
		}
		var total float64
		for k, v := range p.Errors {
			if templates[p.Name][k] == nil {
				return s, fmt.Errorf("scenario: providers[%d] (%s): errors.%s: the provider has no such errors", i, p.Name, k)
			}
			if v < 0 || v > 1 {
				return s, fmt.Errorf("scenario: providers[%d] (%s): errors.%s must be in [0, 1], got %v", i, p.Name, k, v)
			}
			errs[k] = v
		}
		for _, v := range errs {
			total += v
		}
		if total > 0.5 {
			return s, fmt.Errorf("scenario: providers[%d] (%s): errors add up to %.2f of requests, more than half", i, p.Name, total)
		}
		p.Errors = errs
		providers[i] = p
	}
	s.Providers = providers
	incidents := slices.Clone(s.Incidents)
	for i := range incidents {
		in := &incidents[i]
		in.Start = in.Start.UTC()
		where := fmt.Sprintf("scenario: incidents[%d] (%s at %s)", i, in.Kind, in.Provider)
		if !slices.Contains(IncidentKinds, in.Kind) {
			return s, fmt.Errorf("%s: unknown kind %q", where, in.Kind)
		}
		if templates[in.Provider] == nil {
			return s, fmt.Errorf("%s: unknown provider %q", where, in.Provider)
		}
		if in.Length < time.Minute || !(in.Strength > 0 && in.Strength <= 1) {
			return s, fmt.Errorf("%s: length must be at least 1m and strength in (0, 1]", where)
		}
		switch {
		case in.Ramp < 0 || in.Ramp > in.Length:
			return s, fmt.Errorf("%s: ramp must be between 0 and the length", where)
		case in.Volume < 0:
			return s, fmt.Errorf("%s: volume must not be negative", where)
		case in.Every != 0 && in.Every < in.Length:
			return s, fmt.Errorf("%s: every must be at least the length", where)
		case in.Endpoint != "" && endpointIndex(in.Provider, in.Endpoint) < 0:
			return s, fmt.Errorf("%s: %s has no endpoint %q (%s)", where, in.Provider, in.Endpoint, strings.Join(endpointNames(in.Provider), ", "))
		case in.Category != "" && (in.Kind == NewCode || !slices.Contains(incidentKinds[in.Kind], in.Category)):
			return s, fmt.Errorf("%s: category %q is not one of the kind's (%s)", where, in.Category, strings.Join(incidentKinds[in.Kind], ", "))
		}
		if in.Volume == 0 {
			in.Volume = 1
		}
		if in.Kind == NewCode {
			if in.Code == "" {
				return s, fmt.Errorf("%s: a new code needs its code", where)
			}
			if in.Status == 0 {
				in.Status = 409
			}
			continue
		}
		var have bool
		for _, k := range incidentKinds[in.Kind] {
			for _, t := range templates[in.Provider][k] {
				have = have || (in.Category == "" || k == in.Category) &&
					(in.Code == "" || t.code == in.Code && (in.Subcode == "" || t.subcode == in.Subcode))
			}
		}
		if !have {
			return s, fmt.Errorf("scenario: incidents[%d]: %s has no %s errors with code %q subcode %q", i, in.Provider, in.Kind, in.Code, in.Subcode)
		}
	}
	s.Incidents = incidents
	for i, su := range s.Surges {
		if su.Provider != "" && templates[su.Provider] == nil || !(su.Factor > 0) || su.Length < time.Minute {
			return s, fmt.Errorf("scenario: surges[%d]: needs a known provider (or none), a positive factor and a length of at least 1m", i)
		}
	}
	for i, b := range s.Blips {
		if templates[b.Provider][b.Kind] == nil || b.Count < 1 {
			return s, fmt.Errorf("scenario: blips[%d]: needs a provider with errors of kind %q and a positive count", i, b.Kind)
		}
	}
	for i, tn := range s.Tenants {
		where := fmt.Sprintf("scenario: tenants[%d] (%s)", i, tn.Name)
		if tn.Name == "" || templates[tn.Provider] == nil || !(tn.Share > 0 && tn.Share <= 1) {
			return s, fmt.Errorf("%s: needs a name, a known provider and a share in (0, 1]", where)
		}
		if tn.Hours[0] < 0 || tn.Hours[0] > 23 || tn.Hours[1] < 0 || tn.Hours[1] > 24 {
			return s, fmt.Errorf("%s: hours must be UTC hours, from 0 to 24", where)
		}
		var total float64
		for k, v := range tn.Errors {
			if templates[tn.Provider][k] == nil || v < 0 || v > 1 {
				return s, fmt.Errorf("%s: errors.%s: the provider has no such errors, or the share is not in [0, 1]", where, k)
			}
			total += v
		}
		if total > 1 {
			return s, fmt.Errorf("%s: errors add up to more than all requests", where)
		}
	}
	return s, nil
}
