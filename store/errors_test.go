package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
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
	require.Len(t, r.copyRow(), len(eventColumns))
	require.Len(t, r.values(), len(eventColumns))
	require.Len(t, CopyColumns(), len(eventColumns))
}
