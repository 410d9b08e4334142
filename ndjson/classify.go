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
	Line int `json:"line"`
	// Index is the record's place in a message of many (OpenTelemetry).
	Index         *int              `json:"index,omitempty"`
	Shape         classify.Shape    `json:"shape"`
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
	Index  *int   `json:"index,omitempty"`
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// NewClassification builds the output line of a classified event (whose
// strings the classifier redacted, exactly as they are stored).
func NewClassification(line int, ev *classify.Event) Classification {
	out := Classification{
		Line: line, Shape: ev.Shape, TS: ev.TS, Provider: ev.Provider, Service: ev.Service, Method: ev.Method,
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

// Classifier is what Classify needs of classification: the records of a
// line (one, or an OpenTelemetry message's many).
type Classifier interface {
	ClassifyAll(msg []byte, out []classify.Result) []classify.Result
}

// Classify reads NDJSON records from r and writes exactly one JSON line per
// record to w, in order: one per input line, or, for a line holding an
// OpenTelemetry message, one per log record with its index. Each
// classified event is also handed to visit when it is not nil. It touches
// no database; memory stays bounded by maxLine whatever the input. A line
// that makes classification fail (internal_error) gets an error line like
// any unusable line.
func Classify(ctx context.Context, r io.Reader, w io.Writer, c Classifier, maxLine int, visit func(*classify.Event)) (Stats, error) {
	var st Stats
	rd := NewReader(r, maxLine)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var results []classify.Result
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
		results = classifyLine(c, line, err, results[:0])
		for i := range results {
			res := &results[i]
			var index *int
			if res.Many {
				index = &res.Index
			}
			var out any
			if res.Err != nil {
				st.Unusable++
				out = LineError{Line: n, Index: index, Error: res.Err.Error(), Reason: string(classify.ReasonOf(res.Err))}
			} else {
				if res.Event.IsError {
					st.Errors++
				}
				if visit != nil {
					visit(&res.Event)
				}
				cl := NewClassification(n, &res.Event)
				cl.Index = index
				out = cl
			}
			if err := enc.Encode(out); err != nil {
				return st, fmt.Errorf("write line %d: %w", n, err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write: %w", err)
	}
	return st, nil
}

// classifyLine classifies the records of one line into out, or says why
// the line is unusable; readErr is the reader's error for the line
// (ErrLineTooLong, ErrBareCR).
func classifyLine(c Classifier, line []byte, readErr error, out []classify.Result) (rs []classify.Result) {
	if readErr != nil {
		return append(out, classify.Result{Err: ReadError(readErr)})
	}
	defer func() {
		if p := recover(); p != nil {
			rs = append(out[:0], classify.Result{Err: &classify.RecordError{Reason: classify.ReasonInternal, Detail: redact.Text(fmt.Sprint(p))}})
		}
	}()
	return c.ClassifyAll(line, out)
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
