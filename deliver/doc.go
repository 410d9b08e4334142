// Package deliver takes a report to its readers: an e-mail through an SMTP
// server (Mailer, with github.com/wneessen/go-mail for MIME and SMTP) and a
// message to a chat channel's incoming webhook (Webhook: Slack, Mattermost,
// Rocket.Chat). Package report writes what is sent; this package only
// carries it.
//
// Delivery is loud and safe. Mail leaves only over TLS (STARTTLS required,
// or implicit TLS), or in clear to a relay on the loopback interface; a
// webhook only over HTTPS, or HTTP on loopback. Every failure is an error
// that says why (unreachable, refused authentication, the server's reply),
// and only what a retry can fix is retried, with backoff: a connection
// refused, a temporary (4xx) SMTP reply, an HTTP 5xx or 429. A refused
// password, a permanent reply or any other 4xx is final. No error, log
// line or message names the SMTP password or the webhook URL's path and
// query (its secret): they show as "[redacted]".
package deliver
