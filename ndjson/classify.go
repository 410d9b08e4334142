package ndjson

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/redact"
)

// Classification is the JSON line `ingest classify` writes for a usable
// record: the classification fields of TAXONOMY.md plus is_error and
// endpoint. Error fields are omitted for a success.
type Classification struct {
	Line          int               `json:"line"`
	TS            time.Time         `json:"ts"`
	Provider      string            `json:"provider"`
	Service       string            `json:"service,omitempty"`
	Method        string            `json:"method,omitempty"`
	Host          string            `json:"host,omitempty"`
	Endpoint      string            `json:"endpoint"`
	Status        int               `json:"status"`
	IsError       bool              `json:"is_error"`
	Category      classify.Category `json:"category,omitempty"`
	Code          *string           `json:"code,omitempty"`
	Subcode       *string           `json:"subcode,omitempty"`
	Retryable     *bool             `json:"retryable,omitempty"`
	Known         *bool             `json:"known,omitempty"`
	CorrelationID *string           `json:"correlation_id,omitempty"`
	TraceID       string            `json:"trace_id,omitempty"`
	References    []string          `json:"references,omitempty"`
	Fingerprint   string            `json:"fingerprint,omitempty"`
	Message       string            `json:"message,omitempty"`
}

// LineError is the JSON line written for an unusable record.
type LineError struct {
	Line   int    `json:"line"`
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// NewClassification builds the output line of a classified event (whose
// strings the classifier redacted, exactly as they are stored).
func NewClassification(line int, ev *classify.Event) Classification {
	out := Classification{
		Line: line, TS: ev.TS, Provider: ev.Provider, Service: ev.Service, Method: ev.Method,
		Host: ev.Host, Endpoint: ev.Endpoint, Status: ev.Status, IsError: ev.IsError,
	}
	if !ev.IsError {
		return out
	}
	out.Category = ev.Category
	out.Code, out.Subcode, out.CorrelationID = &ev.Code, &ev.Subcode, &ev.CorrelationID
	out.Retryable, out.Known = &ev.Retryable, &ev.Known
	out.TraceID, out.References, out.Fingerprint = ev.TraceID, ev.References, ev.Fingerprint
	out.Message = ev.Message
	return out
}

// Stats counts what a stream contained.
type Stats struct {
	Lines, Errors, Unusable int
}

// Classifier is what Classify needs of classification.
type Classifier interface {
	Classify(line []byte) (classify.Event, error)
}

// Classify reads NDJSON records from r and writes exactly one JSON line per
// input line to w, in order. Each classified event is also handed to visit
// when it is not nil. It touches no database; memory stays bounded by
// maxLine whatever the input. A line that makes classification fail
// (internal_error) gets an error line like any unusable line.
func Classify(ctx context.Context, r io.Reader, w io.Writer, c Classifier, maxLine int, visit func(*classify.Event)) (Stats, error) {
	var st Stats
	rd := NewReader(r, maxLine)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for {
		if err := canceled(ctx); err != nil {
			return st, err
		}
		line, n, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, ErrLineTooLong) && !errors.Is(err, ErrBareCR) {
			return st, err
		}
		st.Lines++
		var out any
		ev, cerr := classifyLine(c, line, err)
		if cerr != nil {
			st.Unusable++
			out = LineError{Line: n, Error: cerr.Error(), Reason: string(classify.ReasonOf(cerr))}
		} else {
			if ev.IsError {
				st.Errors++
			}
			if visit != nil {
				visit(&ev)
			}
			out = NewClassification(n, &ev)
		}
		if err := enc.Encode(out); err != nil {
			return st, fmt.Errorf("write line %d: %w", n, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write: %w", err)
	}
	return st, nil
}

// classifyLine classifies one line, or reports why it is unusable; readErr
// is the reader's error for the line (ErrLineTooLong, ErrBareCR).
func classifyLine(c Classifier, line []byte, readErr error) (ev classify.Event, err error) {
	if readErr != nil {
		return classify.Event{}, ReadError(readErr)
	}
	defer func() {
		if p := recover(); p != nil {
			ev, err = classify.Event{}, &classify.RecordError{Reason: classify.ReasonInternal, Detail: redact.Text(fmt.Sprint(p))}
		}
	}()
	return c.Classify(line)
}

// ReadError is the unusable-record error of a line the Reader returned with
// err (ErrLineTooLong or ErrBareCR), with its dead-letter reason.
func ReadError(err error) *classify.RecordError {
	reason := classify.ReasonOversized
	if errors.Is(err, ErrBareCR) {
		reason = ReasonBareCR
	}
	return &classify.RecordError{Reason: reason, Detail: err.Error()}
}
