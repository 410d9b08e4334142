package report_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/report"
)

func TestSplitPeriod(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	require.NoError(t, err)
	toronto, err := time.LoadLocation("America/Toronto")
	require.NoError(t, err)
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	type spans = [][2]time.Time
	for _, tc := range []struct {
		name           string
		from, to       time.Time
		loc            *time.Location
		hours, minutes spans
	}{
		{"a UTC week is whole hours", at("2026-11-09T00:00:00Z"), at("2026-11-16T00:00:00Z"), time.UTC,
			spans{{at("2026-11-09T00:00:00Z"), at("2026-11-16T00:00:00Z")}}, nil},
		{"edges that are not whole hours", at("2026-11-09T10:17:00Z"), at("2026-11-09T14:03:00Z"), time.UTC,
			spans{{at("2026-11-09T11:00:00Z"), at("2026-11-09T14:00:00Z")}},
			spans{{at("2026-11-09T10:17:00Z"), at("2026-11-09T11:00:00Z")}, {at("2026-11-09T14:00:00Z"), at("2026-11-09T14:03:00Z")}}},
		{"less than an hour", at("2026-11-09T10:17:00Z"), at("2026-11-09T10:32:00Z"), time.UTC,
			nil, spans{{at("2026-11-09T10:17:00Z"), at("2026-11-09T10:32:00Z")}}},
		{"Toronto days over the end of daylight saving time are whole hours", at("2026-10-31T04:00:00Z"), at("2026-11-02T05:00:00Z"), toronto,
			spans{{at("2026-10-31T04:00:00Z"), at("2026-11-02T05:00:00Z")}}, nil},
		{"a Kolkata midnight cuts an hour", at("2026-11-08T18:30:00Z"), at("2026-11-10T18:30:00Z"), kolkata,
			spans{{at("2026-11-08T19:00:00Z"), at("2026-11-09T18:00:00Z")}, {at("2026-11-09T19:00:00Z"), at("2026-11-10T18:00:00Z")}},
			spans{{at("2026-11-08T18:30:00Z"), at("2026-11-08T19:00:00Z")}, {at("2026-11-09T18:00:00Z"), at("2026-11-09T19:00:00Z")},
				{at("2026-11-10T18:00:00Z"), at("2026-11-10T18:30:00Z")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hours, minutes := report.SplitPeriod(tc.from, tc.to, tc.loc)
			require.Equal(t, tc.hours, hours)
			require.Equal(t, tc.minutes, minutes)
		})
	}
}
