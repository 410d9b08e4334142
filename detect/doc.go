// Package detect finds incidents in faultline's rollups: decline spikes,
// expired-token storms, provider outages, rate-limit storms, auth failures
// (the rate rules) and codes never seen before (NewCode), and decides which
// of them page. It is pure: it reads the counts it is given (Counts, filled
// as a Plan says: per minute over the window evaluated, per whole hour for
// the baselines before it) and the alerts stored before (State), and
// returns Alerts, with no I/O, clock or logging, so that a backtest over
// last month and this minute's evaluation are the same computation. Alert
// is also what the store keeps (store.Alert).
//
// # Method
//
// docs/alerts.md explains the decision rule, its numbers and why; briefly:
//
//   - Rates, not counts: a rule follows a provider's rate of some errors
//     per request (and, for declines, each decline code's).
//   - A baseline that borrows strength (baseline.go): the same hour on
//     each of the 6 days and 4 weeks before and the last two hours, each
//     sample's rate leaning on the week's rate as much as it lacks calls;
//     past incidents left out; a band for how the rate moves beyond its
//     counting noise.
//   - Evidence, not volume (evidence.go): a window-limited CUSUM of the
//     Poisson log-likelihood ratio for 8 elevated rates against the band,
//     at most Evidence/For nats a minute; an alert opens when a chart
//     reaches Evidence over at most MaxWindow minutes with MinCount errors,
//     at 1 call a minute as at 1,000; it closes on 100:1 evidence that the
//     rate is back.
//   - What recurs is expected (incident.go): an alert at the same minute of
//     the week as in RecurAfter of the last RecurWeeks weeks, or inside a
//     provider's declared maintenance Window, is suppressed; one incident
//     seen by several rules is one page (the others join it).
//   - New codes (newcode.go) open an alert on their first sighting, once
//     per provider and code ever, their severity following their rate.
//
// Every parameter is described once (params.go): its YAML key, meaning,
// defaults and valid values; Config reads them per rule and provider.
package detect
