// Package console is faultline's read-only web console, served by `report
// serve` for support staff and on-call: a lookup page (every event of one
// or more ids, with the escalation block to paste to the provider and a
// button that copies it), a search without an id (a tenant's, a service's
// or a provider's events over a window, a page at a time), the error
// groups of a window with their trend and a group's page, the alert
// history with each alert's context and incident escalation, the weekly
// error report of any week, and a provider's error rate, requests and top
// codes over a window given in the URL.
//
// Pages are rendered on the server with html/template (every stored string
// escaped); the stylesheet and the one small script (the copy button, a
// progressive enhancement) are embedded in the binary and are all a page
// loads. Every response carries security headers: a Content-Security-Policy
// that forbids any fetch elsewhere and any inline script, nosniff, no
// referrer, no framing, and no-store for pages with data. Every page but
// /healthz requires authentication: HTTP basic against an htpasswd file of
// bcrypt hashes (Htpasswd) or a header set by an authenticating proxy,
// accepted only from the proxy's addresses (TrustedHeader). Lookups are
// rate-limited per user. Each response says how long the server took to
// make it in a Server-Timing header (app;dur=milliseconds), which
// tools/servebench reads.
//
// The console reads through the small Store interface (store.Store
// implements it): the SQL lives in package store, the meaning of what is
// read (lookups, searches, groups, escalations, the weekly report, a
// provider's window) in package report.
package console
