// Package ndjson reads newline-delimited JSON records with constant memory,
// whatever the size of the input or of one line, and writes the
// classification of each record as one JSON line (`ingest classify`).
package ndjson

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// Reader yields the lines of an NDJSON stream one at a time. A line longer
// than the limit is skipped without being held in memory and reported as
// oversized; memory stays bounded by the limit.
type Reader struct {
	br    *bufio.Reader
	max   int
	buf   []byte
	lineN int
}

// ErrLineTooLong is returned (wrapped) by Next for a line over the limit;
// the reader has moved past it.
var ErrLineTooLong = errors.New("line too long")

// NewReader returns a Reader over r that accepts lines up to max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next line without its newline, and its 1-based number.
// The line is valid until the next call. At the end of input it returns
// io.EOF.
func (r *Reader) Next() ([]byte, int, error) {
	r.buf = r.buf[:0]
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max+2 { // +2: room for "\r\n"
				tooLong = true
				r.buf = r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if len(r.buf) == 0 && !tooLong && len(chunk) == 0 {
				return nil, r.lineN, io.EOF
			}
		case err != nil:
			return nil, r.lineN, fmt.Errorf("read line %d: %w", r.lineN+1, err)
		}
		r.lineN++
		if tooLong {
			return nil, r.lineN, fmt.Errorf("line %d: %w (over %d bytes)", r.lineN, ErrLineTooLong, r.max)
		}
		return bytes.TrimRight(r.buf, "\r\n"), r.lineN, nil
	}
}

// canceled reports a context's end as an error, checked between lines.
func canceled(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
		return nil
	}
}
