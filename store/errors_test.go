package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
)

func TestWrapMarksWhatARetryMayFix(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err         error
		unavailable bool
	}{
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "53300"}, true},
		{&pgconn.PgError{Code: "40001"}, true}, // serialization failure
		{&pgconn.PgError{Code: "40P01"}, true}, // deadlock
		{fmt.Errorf("copy: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{pgconn.ErrConnClosed, true},
		{context.DeadlineExceeded, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "28P01"}, false}, // wrong password
		{&pgconn.PgError{Code: "42P01"}, false},
		{context.Canceled, false},
		{errors.New("something else"), false},
	} {
		err := wrap(ctx, "op", tc.err)
		require.Equal(t, tc.unavailable, errors.Is(err, ErrUnavailable), "%v", tc.err)
		require.ErrorIs(t, err, tc.err, "the cause stays in the chain")
	}

	// The caller's own cancellation is not unavailability, whatever the
	// driver made of it.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.NotErrorIs(t, wrap(cancelled, "op", io.EOF), ErrUnavailable)
	require.Nil(t, wrap(ctx, "op", nil))
}

func TestEventRowShapes(t *testing.T) {
	var r eventRow
	require.Len(t, r.copyRow(), len(copyColumns))
	require.Equal(t, "id", copyColumns[0])
	require.Equal(t, eventColumns, copyColumns[1:])
	require.Len(t, r.values(), len(eventColumns))
}

// TestCopyRowsDoNotAllocate encodes COPY rows as pgx does (one value at a
// time, binary, with the columns' types): neither setting the row to the
// next event and id nor encoding it allocates.
func TestCopyRowsDoNotAllocate(t *testing.T) {
	text := uint32(pgtype.TextOID)
	oids := []uint32{
		pgtype.Int8OID, pgtype.TimestamptzOID, text, text, text, text, pgtype.Int2OID, pgtype.BoolOID, pgtype.BoolOID,
		text, text, pgtype.TextArrayOID, text, text, text, text,
		text, text, text, pgtype.Float8OID, text, text,
		text, pgtype.Int4OID, pgtype.Int8OID,
	}
	require.Len(t, oids, len(copyColumns))
	evs := make([]Event, 2)
	for i := range evs {
		evs[i] = Event{Event: classify.Event{
			TS: time.Date(2026, 11, 2, 10, 0, i, 0, time.UTC), Provider: "finix", Category: "decline", Code: "DECLINED",
			Status: 402, CorrelationID: "req_1", References: []string{"AU1", "AU2"}, Fingerprint: "fp", Message: "declined",
			Body: `{"code":"DECLINED"}`,
		}, Topic: "t", Offset: int64(i)}
	}
	evs[1].CorrelationID, evs[1].References = "", nil // NULLs
	src := newEventSource(evs, []int64{41, 42})
	m := pgtype.NewMap()
	buf := make([]byte, 0, 4096)
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		src.next = 0
		for src.Next() {
			row, _ := src.Values()
			buf = buf[:0]
			for i, v := range row {
				var out []byte
				if out, err = m.Encode(oids[i], pgtype.BinaryFormatCode, v, buf); err != nil {
					return
				}
				if out != nil { // nil: NULL
					buf = out
				}
			}
		}
	})
	require.NoError(t, err)
	require.Zero(t, allocs)
	require.EqualValues(t, 42, src.cur.id)
}
