// Package report answers faultline's readers from what the store keeps:
// support escalating one failed payment (Lookup: everything known about the
// events of an id, and a block to paste to the provider's support), on-call
// and reviewers asking what moved (Trends: every provider, category and
// code against the previous period of equal length, most significant
// first), everyone reading the weekly error report (Weekly), support
// without an id (Search: a tenant's, a service's or a provider's events
// over a window, a page at a time), on-call and reviewers asking what
// kinds of errors there are (ListGroups, ReadGroup: counts, trends, new
// and regressed), the alert history (ReadAlertHistory), what to send a
// provider about an incident (Escalate), and the console's provider page
// (ReadProviderWindow).
//
// The SQL lives in package store; this package gives the rows their
// meaning (rates, changes, significance, new and regressed, the catalog's
// words; one ranking of codes, one splitting of periods between the
// hourly and per-minute rollups) and renders them: text for an 80-column
// terminal, JSON for machines, and for the weekly report Markdown, CSV,
// one self-contained HTML file with inline SVG charts, an e-mail (Mail:
// Markdown text, HTML whose charts are PNG parts) and a chat message
// (WriteChat: a Slack incoming-webhook payload).
// Package deliver sends the last two. Counts come from the rollups, never
// from sampling events; what lists events (a search, a group's latest, an
// incident's samples) reads them through indexes, bounded.
package report
