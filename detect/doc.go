// Package detect finds incidents in faultline's rollups: decline spikes,
// expired-token storms, provider outages, rate-limit storms, auth failures
// (the rate rules) and codes never seen before (NewCode). It is pure: it
// reads the counts it is given (Counts, filled as a Plan says: per minute
// over the window evaluated, per whole hour for the baselines before it) and
// returns incidents, with no I/O, clock or logging, so that a backtest over
// last month and this minute's evaluation are the same computation.
//
// # Method
//
// The published methods this learns from judge counts: Sentry's
// escalating-issues forecast (a week of hourly counts, mean plus a bounded
// multiple of the deviation, same weekday weighted double, a floor for
// low volumes), Datadog's anomaly algorithms (basic: a rolling quantile;
// agile and robust: seasonal, weekly seasonality needing three weeks of
// history, with trigger and recovery windows), Grafana's robust strategy
// (median and MAD over a day, seasonal bands at one day and one week, a
// proportional margin where the MAD is zero, a sparse-series filter).
// Payment errors have something these lack: a denominator. Every error
// rollup has the requests it is a share of, so this package judges rates,
// and does it with the statistics of counts:
//
//   - Rates, not counts. A provider's error rate of a kind (declines per
//     request, say) is what a rule follows. A traffic surge, the Monday
//     morning ramp or months of growth change counts, not rates, and page
//     nobody.
//   - A seasonal, robust baseline. The expected rate at a minute is the
//     median of the rates of the same hour of the week (with the hours
//     either side) in each of the last Weeks weeks, of the same hours
//     yesterday, and of the last two hours; its spread is their median
//     absolute deviation. A past incident in one sample moves neither.
//   - A binomial test on the rate. k errors in n requests are judged
//     against the upper edge of the baseline's band (median plus MADs
//     spreads): the rule opens only when the chance of k or more errors
//     at that rate is at most Alpha, the rate is at least MinRatio times
//     the baseline and MinDelta above it, and there are MinCount errors.
//     The test knows that 3 errors of 20 requests at 3 a.m. prove
//     nothing and that 300 of 2,000 do; MinCount and MinRequests make
//     sure that three errors at night page nobody.
//   - Windows that widen when traffic is low. The rate is measured over
//     Window minutes, doubled up to MaxWindow until it holds MinRequests
//     requests: quiet hours are judged on enough traffic instead of not at
//     all or on noise.
//   - Hysteresis. The condition must hold For consecutive minutes to
//     open an incident; it stays open until the rate stays below a closing
//     threshold (half way between baseline and opening threshold) for
//     ResolveAfter. The baseline is frozen when the incident opens, so a
//     long incident does not become its own baseline. One incident is one
//     alert with a start and an end.
//   - Decline codes. A decline spike is also looked for per decline code
//     and subcode (a Finix failure_code): one code can quadruple while the
//     provider's decline rate moves less than the rule asks. Either opens
//     the provider's one decline alert, named after the code when one
//     code carries it.
//   - New codes. A provider code first seen in the last Novelty (with at
//     least MinHistory of stored history before it, so a fresh database
//     does not call everything new) opens an alert once it is more than
//     noise: MinCount errors and MinDelta of the requests in its window.
//
// Parameters are per rule and provider (Config, ParseConfig); the defaults
// need no file.
package detect
