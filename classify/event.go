package classify

import (
	"errors"
	"fmt"
	"time"
)

// Event is one classified integration log record.
//
// Every string in it is redacted (package redact): identifiers that hold a
// secret are replaced whole, the message and the body have their secrets
// removed, and only then are they bounded. An Event may be stored or
// printed as it is.
type Event struct {
	TS         time.Time
	Provider   string
	Service    string
	Env        string
	Tenant     string
	Method     string
	Host       string
	Endpoint   string // templated path: ids replaced by {id}
	Status     int    // 0 when no response arrived
	DurationMS float64
	IsError    bool
	Shape      Shape // the form the record arrived in

	// The fields below are set for errors only.
	Category      Category
	Code          string
	Subcode       string
	Retryable     bool
	Known         bool
	CorrelationID string   // the provider's request id, the one their support asks for
	TraceID       string   // our own trace id
	References    []string // secondary references (Finix authorization / transfer ids)
	Fingerprint   string
	Message       string
	Remediation   string // from the provider's documentation
	Body          string // the response body, redacted, then bounded
}

// Reason is why a record could not be used. Its values are few and fixed, so
// they can label metrics and dead letters.
type Reason string

// The reasons a record is unusable.
const (
	ReasonNotJSON     Reason = "not_json"
	ReasonNotObject   Reason = "not_object"
	ReasonNoTimestamp Reason = "no_timestamp"
	ReasonBadTime     Reason = "bad_timestamp"
	ReasonBadStatus   Reason = "bad_status"
	ReasonOversized   Reason = "oversized"
	ReasonNULByte     Reason = "nul_byte"
	ReasonInvalidUTF8 Reason = "invalid_utf8"
	ReasonEmpty       Reason = "empty"
	// ReasonNotACall marks a record with nothing of a provider call: an
	// application's log line about something else.
	ReasonNotACall Reason = "not_a_call"
	// ReasonNoOutcome marks a call that says neither its HTTP status nor
	// a transport error: how it ended is unknown, and guessing would move
	// error rates.
	ReasonNoOutcome Reason = "no_outcome"
	// ReasonNoProvider marks a call that nothing attributes to a
	// provider: no provider named, a URL host no catalog or --host rule
	// knows, no provider's error body.
	ReasonNoProvider Reason = "no_provider"
	// ReasonInternal marks a record that made faultline itself fail (a
	// panic while decoding, classifying or redacting it): a bug to fix, and
	// the record kept to reproduce it.
	ReasonInternal Reason = "internal_error"
)

// Reasons lists every Reason, for pre-registering metric labels.
var Reasons = []Reason{
	ReasonNotJSON, ReasonNotObject, ReasonNoTimestamp, ReasonBadTime, ReasonBadStatus,
	ReasonOversized, ReasonNULByte, ReasonInvalidUTF8, ReasonEmpty, ReasonNotACall,
	ReasonNoOutcome, ReasonNoProvider, ReasonInternal,
}

// RecordError says why a record is unusable. Detail never holds a secret:
// what it quotes of the record is redacted first.
type RecordError struct {
	Reason Reason
	Detail string
	// Stack is the goroutine's stack when the record made classification
	// panic (ReasonInternal): code positions only, nothing of the record.
	Stack []byte
}

func (e *RecordError) Error() string {
	if e.Detail == "" {
		return string(e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Detail)
}

// ReasonOf returns the Reason of a *RecordError in err's chain, or "" when
// there is none.
func ReasonOf(err error) Reason {
	var re *RecordError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

func recordError(r Reason, format string, args ...any) error {
	if len(args) == 0 {
		return &RecordError{Reason: r, Detail: format}
	}
	return &RecordError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}
