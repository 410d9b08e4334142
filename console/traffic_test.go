package console_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// TestProviderWindowFromCachedDays compares the console's provider windows
// (whole settled days kept, cut days read each time) with the store's read
// of the same window read whole, over random windows of ten days of
// traffic.
func TestProviderWindowFromCachedDays(t *testing.T) {
	ctx := testCtx(t)
	url := pgtest.New(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(10 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(3, 4))
	codes := []struct {
		status int
		code   string
	}{{401, "token_expired"}, {400, "invalid_request"}, {404, "order_not_found"}, {429, "rate_limit_exceeded"}, {201, ""}, {201, ""}, {201, ""}}
	var lines []string
	for i := range 4000 {
		ts := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start))))).Truncate(time.Second)
		c := codes[rng.IntN(len(codes))]
		body := ""
		if c.code != "" {
			body = fmt.Sprintf(`,"response_body":{"error":%q,"message":"m","request_id":"req_%d"}`, c.code, i)
		}
		lines = append(lines, fmt.Sprintf(`{"ts":%q,"provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/o%d/payments","status":%d%s}`,
			ts.Format(time.RFC3339), i, c.status, body))
	}
	path := filepath.Join(t.TempDir(), "records.ndjson")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	cls, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	r, err := ingest.NewReplay(ingest.ReplayConfig{Store: st, Classifier: cls, Builder: ingest.BuilderOptions{Now: func() time.Time { return end }}})
	require.NoError(t, err)
	_, err = r.File(ctx, path)
	require.NoError(t, err)

	clock := end.Add(-3 * time.Hour) // the last day has not settled
	auth, err := console.LoadHtpasswd(htpasswdFile, nil)
	require.NoError(t, err)
	c, err := console.New(console.Options{Store: st, Auth: auth, Now: func() time.Time { return clock }})
	require.NoError(t, err)

	for i := range 40 {
		length := time.Duration(7+rng.IntN(9*24)) * time.Hour
		length += time.Duration(rng.IntN(60)) * time.Minute
		to := start.Add(length).Add(time.Duration(rng.Int64N(int64(end.Sub(start) - length)))).Truncate(time.Minute)
		from := to.Add(-length)
		got, err := c.ProviderWindow(ctx, "finterra", from, to)
		require.NoError(t, err)
		want, err := report.ReadProviderWindow(ctx, st, report.ProviderWindowOptions{Provider: "finterra", From: from, To: to, TopN: 10})
		require.NoError(t, err)
		name := fmt.Sprintf("window %d: %s to %s", i, from.Format(time.RFC3339), to.Format(time.RFC3339))
		require.Positive(t, want.Requests, name)
		require.Equal(t, want.Requests, got.Requests, name)
		require.Equal(t, want.Errors, got.Errors, name)
		require.Equal(t, want.ByCategory, got.ByCategory, name)
		require.Equal(t, want.TopCodes, got.TopCodes, name)
		require.Equal(t, want.Series, got.Series, name)
	}

	// Late data for a settled day shows once its kept copy is older than
	// the cache's time to live.
	day := start.Add(2 * 24 * time.Hour)
	before, err := c.ProviderWindow(ctx, "finterra", day, day.Add(24*time.Hour))
	require.NoError(t, err)
	late := filepath.Join(t.TempDir(), "late.ndjson")
	require.NoError(t, os.WriteFile(late, []byte(fmt.Sprintf(`{"ts":%q,"provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/late/payments","status":201}`+"\n",
		day.Add(5*time.Hour).Format(time.RFC3339))), 0o600))
	_, err = r.File(ctx, late)
	require.NoError(t, err)
	cached, err := c.ProviderWindow(ctx, "finterra", day, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, before.Requests, cached.Requests, "the kept day")
	clock = clock.Add(10 * time.Minute)
	fresh, err := c.ProviderWindow(ctx, "finterra", day, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, before.Requests+1, fresh.Requests, "read again after its time to live")
}
