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

	"github.com/faultline-dev/faultline/classify"
)

// Reader yields the lines of an NDJSON stream one at a time.
//
// A line ends with "\n" or "\r\n"; the last one may have no ending. A UTF-8
// byte order mark at the start of the stream is skipped. A line ended by a
// carriage return alone (old Mac line endings) is not NDJSON: it is
// returned, one at a time, with ErrBareCR, rather than merged with the next
// ones into one line. A line longer than the limit is skipped without being
// held in memory and reported with ErrLineTooLong. Memory stays bounded by
// the limit.
type Reader struct {
	br      *bufio.Reader
	max     int
	buf     []byte
	lineN   int
	pos     int64 // bytes of the input consumed
	end     int64 // where the content of the last line ended
	started bool
}

// ErrLineTooLong is returned (wrapped) by Next for a line over the limit;
// the reader has moved past it.
var ErrLineTooLong = errors.New("line too long")

// ErrBareCR is returned (wrapped) by Next, with the line, for a line ended
// by a carriage return that no line feed follows.
var ErrBareCR = errors.New("line ends with a bare carriage return (\\r), not \\n or \\r\\n")

// ReasonBareCR is the dead-letter reason of a line ended by a bare
// carriage return.
const ReasonBareCR classify.Reason = "bare_cr"

var bom = []byte{0xEF, 0xBB, 0xBF}

// NewReader returns a Reader over r that accepts lines up to max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next line without its ending, and its 1-based number.
// The line is valid until the next call. At the end of input it returns
// io.EOF. A line ended by a bare carriage return comes with an error
// wrapping ErrBareCR; an oversized one with no content and an error
// wrapping ErrLineTooLong.
func (r *Reader) Next() ([]byte, int, error) {
	if !r.started {
		r.started = true
		if b, _ := r.br.Peek(len(bom)); bytes.Equal(b, bom) {
			r.discard(len(bom))
		}
	}
	r.buf = r.buf[:0]
	tooLong, read := false, false
	for {
		win, err := r.window()
		if len(win) == 0 {
			if err != io.EOF {
				return nil, r.lineN, fmt.Errorf("read line %d: %w", r.lineN+1, err)
			}
			if !read {
				return nil, r.lineN, io.EOF
			}
			r.end = r.pos
			return r.line(tooLong, false) // the last line, without an ending
		}
		read = true
		i := bytes.IndexAny(win, "\r\n")
		if i < 0 {
			tooLong = r.take(win, tooLong)
			continue
		}
		tooLong = r.take(win[:i], tooLong)
		r.end = r.pos
		r.discard(1)
		if win[i] == '\n' {
			return r.line(tooLong, false)
		}
		// '\r': a line ending only if "\n" follows.
		if next, _ := r.br.Peek(1); len(next) == 1 && next[0] == '\n' {
			r.discard(1)
			return r.line(tooLong, false)
		}
		return r.line(tooLong, true)
	}
}

// End is the offset in the input (counting a byte order mark) just after
// the content of the line Next returned last, before its ending.
func (r *Reader) End() int64 { return r.end }

// window returns the buffered input, reading more when none is buffered.
func (r *Reader) window() ([]byte, error) {
	if r.br.Buffered() == 0 {
		if _, err := r.br.Peek(1); err != nil {
			return nil, err
		}
	}
	return r.br.Peek(r.br.Buffered())
}

// take consumes b, part of the current line, keeping it unless the line is
// (or becomes) too long; it reports whether it is.
func (r *Reader) take(b []byte, tooLong bool) bool {
	if !tooLong && len(r.buf)+len(b) > r.max {
		tooLong = true
		r.buf = r.buf[:0]
	}
	if !tooLong {
		r.buf = append(r.buf, b...)
	}
	r.discard(len(b))
	return tooLong
}

func (r *Reader) discard(n int) {
	_, _ = r.br.Discard(n) // n bytes are buffered
	r.pos += int64(n)
}

// line ends the current line.
func (r *Reader) line(tooLong, bareCR bool) ([]byte, int, error) {
	r.lineN++
	switch {
	case tooLong:
		return nil, r.lineN, fmt.Errorf("line %d: %w (over %d bytes)", r.lineN, ErrLineTooLong, r.max)
	case bareCR:
		return r.buf, r.lineN, fmt.Errorf("line %d: %w", r.lineN, ErrBareCR)
	}
	return r.buf, r.lineN, nil
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
