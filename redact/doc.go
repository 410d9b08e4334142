// Package redact removes secrets and personal data from text before
// faultline stores or prints it: card numbers, card security codes and PINs,
// credentials (bearer and basic credentials, JWTs, API keys, passwords,
// session cookies, signatures, userinfo in URLs), vendor credentials by
// their shape (vendor.go), PEM private keys, e-mail addresses, phone
// numbers, SINs, birth dates, security answers and PIWs, bank and identity
// numbers (IBANs, SSNs, routing, transit, institution and account numbers,
// passport and driver's licence numbers).
//
//   - Text redacts free text (messages, header values, error details) with
//     detectors that recognise a secret by its form (a card number, an
//     IBAN, sk_live_…, a PEM block), or by the key, word or markup that
//     names it ("password=…", "Authorization: …", "CVV 123", "HMAC secret
//     is …", <cvv>…</cvv>, <input name="cvc" value="…">).
//   - Document redacts anything that may hold structure: JSON, including
//     JSON that is truncated, double-encoded, written with raw control
//     characters or embedded in HTML, and key=value text. A tolerant
//     tokenizer, not a JSON parser, finds keys: a value under a sensitive
//     key (SensitiveKey) is removed whatever its form; every other string
//     goes through Text.
//   - Identifier keeps an identifier when it is one and replaces it whole
//     when it holds a secret.
//   - Bound cuts redacted text to a size, on a character boundary; Body is
//     Document then Bound. Redaction always comes first, so that a cut can
//     never leave half a secret behind.
//
// Every function takes time linear in the length of its input, accepts any
// bytes (NUL bytes are dropped and invalid UTF-8 becomes U+FFFD before
// anything is looked at, so that they cannot hide a secret), never panics,
// and is idempotent. The package is pure: no I/O, no logging, no state.
package redact

// Redacted replaces every removed value.
const Redacted = "[REDACTED]"
