// Package report answers faultline's readers from what the store keeps:
// support escalating one failed payment (Lookup: everything known about the
// events of an id, and a block to paste to the provider's support), on-call
// and reviewers asking what moved (Trends: every provider, category and
// code against the previous period of equal length, most significant
// first), and everyone reading the weekly error report (Weekly).
//
// The SQL lives in package store; this package gives the rows their
// meaning (rates, changes, significance, the catalog's words) and renders
// them: text for an 80-column terminal, JSON for machines, and for the
// weekly report Markdown, CSV, one self-contained HTML file with inline
// SVG charts, an e-mail (Mail: Markdown text, HTML whose charts are PNG
// parts) and a chat message (WriteChat: a Slack incoming-webhook payload).
// Package deliver sends the last two. Counts come from the rollups, never
// from sampling events.
package report
