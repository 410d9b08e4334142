package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// InsertEventsOneByOne stores events the naive way: one INSERT statement
// per event, each its own transaction, no offsets, rollups or groups. It
// exists only so that benchmarks can show what WriteBatch saves.
func (s *Store) InsertEventsOneByOne(ctx context.Context, events []Event) error {
	if err := s.ensureDays(ctx, eventDays(events)); err != nil {
		return wrap(ctx, "store: insert events", err)
	}
	params := make([]string, len(eventColumns))
	for i := range params {
		params[i] = "$" + strconv.Itoa(i+1)
	}
	stmt := "INSERT INTO events (" + strings.Join(eventColumns, ", ") + ") VALUES (" + strings.Join(params, ", ") + ")"
	var row eventRow
	for i := range events {
		row.set(&events[i])
		if _, err := s.pool.Exec(ctx, stmt, row.values()...); err != nil {
			return wrap(ctx, "store: insert events", err)
		}
	}
	return nil
}

// WriteEventsCSV writes events as CSV, one line per event with the columns
// of CopyColumns, holding exactly the values WriteBatch stores (sanitised,
// bounded, empty ids as NULL). Loading it with
//
//	\copy events(<CopyColumns>) FROM 'file' CSV
//
// stores the same rows (without offsets, rollups or groups). NULL is an
// empty unquoted field; every text value is quoted.
func WriteEventsCSV(w io.Writer, events []Event) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var row eventRow
	var buf []byte
	for i := range events {
		row.set(&events[i])
		buf = buf[:0]
		for j, v := range row.values() {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = appendCSVValue(buf, v)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("store: write events csv: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("store: write events csv: %w", err)
	}
	return nil
}

// appendCSVValue appends one value of eventRow.values in Postgres CSV form.
func appendCSVValue(buf []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return buf // NULL
	case string:
		return appendCSVQuoted(buf, v)
	case []string:
		// An array literal, {"a","b"}, quoted as one CSV field.
		var lit strings.Builder
		lit.WriteByte('{')
		for i, s := range v {
			if i > 0 {
				lit.WriteByte(',')
			}
			lit.WriteByte('"')
			for j := 0; j < len(s); j++ {
				if s[j] == '"' || s[j] == '\\' {
					lit.WriteByte('\\')
				}
				lit.WriteByte(s[j])
			}
			lit.WriteByte('"')
		}
		lit.WriteByte('}')
		return appendCSVQuoted(buf, lit.String())
	case time.Time:
		// Binary COPY truncates to microseconds; text input would round.
		return v.UTC().Truncate(time.Microsecond).AppendFormat(buf, "2006-01-02T15:04:05.999999Z07:00")
	case bool:
		if v {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case int16:
		return strconv.AppendInt(buf, int64(v), 10)
	case int32:
		return strconv.AppendInt(buf, int64(v), 10)
	case int64:
		return strconv.AppendInt(buf, v, 10)
	case float64:
		switch {
		case math.IsNaN(v):
			return append(buf, "NaN"...)
		case math.IsInf(v, 1):
			return append(buf, "Infinity"...)
		case math.IsInf(v, -1):
			return append(buf, "-Infinity"...)
		}
		return strconv.AppendFloat(buf, v, 'g', -1, 64)
	}
	panic(fmt.Sprintf("store: no CSV form for %T", v))
}

func appendCSVQuoted(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			buf = append(buf, '"')
		}
		buf = append(buf, s[i])
	}
	return append(buf, '"')
}
