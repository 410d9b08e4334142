package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

func idClassifier(t testing.TB) *classify.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{Hosts: synth.IDShapesHosts()})
	require.NoError(t, err)
	return c
}

// Two replicas' Templaters over one database: what one learns, the other
// loads, so both classify every call alike; only one folds at a time.
func TestTemplatersAgree(t *testing.T) {
	st, db := database(t)
	ctx := testCtx(t)
	a, b := idClassifier(t), idClassifier(t)
	g := synth.NewIDShapes(synth.Options{Seed: 21, ErrorRate: 0.1, Start: time.Now().Add(-time.Hour)})
	var calls []synth.Call
	for part := range 2 {
		bb := ingest.NewBuilder(a, store.Source{Group: "g", Topic: "t", Partition: int32(part)}, store.NoOffset, ingest.BuilderOptions{})
		for i := range 30000 {
			c := g.Next()
			calls = append(calls, c)
			usable, _ := bb.Add(c.Record, "t", int32(part), int64(i))
			require.Equal(t, 1, usable)
		}
		require.NoError(t, st.WriteBatch(ctx, bb.Take(30000)))
	}
	reg := prometheus.NewRegistry()
	ma := ingest.NewTemplateMetrics(reg, a.Catalogs().Providers())
	ta, err := ingest.NewTemplater(ingest.TemplatesConfig{Store: st, Classifier: a, Metrics: ma})
	require.NoError(t, err)
	tb, err := ingest.NewTemplater(ingest.TemplatesConfig{Store: st, Classifier: b})
	require.NoError(t, err)

	pa, err := ta.Pass(ctx)
	require.NoError(t, err)
	require.True(t, pa.Learned)
	require.Greater(t, pa.Added, 3)
	require.Greater(t, pa.Folded.Endpoints, int64(100))
	require.Equal(t, float64(pa.Rules), testutil.ToFloat64(ma.Rules))
	require.Equal(t, float64(pa.Folded.Endpoints), testutil.ToFloat64(ma.Folded))

	require.NoError(t, tb.Refresh(ctx))
	require.Equal(t, a.Templates().Rules(), b.Templates().Rules())
	for _, c := range calls {
		ea, err := a.Classify(c.Record)
		require.NoError(t, err)
		eb, err := b.Classify(c.Record)
		require.NoError(t, err)
		require.Equal(t, ea.Endpoint, eb.Endpoint)
	}
	pb, err := tb.Pass(ctx)
	require.NoError(t, err)
	require.Zero(t, pb.Added)
	require.Zero(t, pb.Folded.Endpoints, "folded already")

	var literal int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE provider = 'cheers' AND endpoint LIKE '/loyalty/v2/vouchers/%' AND endpoint NOT LIKE '%{id}%'`).Scan(&literal))
	require.Zero(t, literal)
}

// Run passes every Every, and soon after Kicks that bring the evidence of
// a template (a quarter of the threshold of new endpoints).
func TestTemplaterKick(t *testing.T) {
	st, _ := database(t)
	ctx := testCtx(t)
	c := idClassifier(t)
	reg := prometheus.NewRegistry()
	m := ingest.NewTemplateMetrics(reg, nil)
	tpl, err := ingest.NewTemplater(ingest.TemplatesConfig{Store: st, Classifier: c, Every: time.Hour, Metrics: m})
	require.NoError(t, err)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tpl.Run(rctx)
	}()
	defer func() {
		stop()
		<-done
	}()
	tpl.Kick(49) // fewer new endpoints than a template needs
	require.False(t, testwait.Within(500*time.Millisecond, func() bool { return testutil.ToFloat64(m.Refreshed) != 0 }), "a pass before enough new endpoints")
	tpl.Kick(1)
	testwait.Until(t, 10*time.Second, "a pass after the kick", func() bool { return testutil.ToFloat64(m.Refreshed) != 0 })
	_, err = ingest.NewTemplater(ingest.TemplatesConfig{Store: st, Classifier: c, Threshold: 1})
	require.Error(t, err)
}

// History is folded in: rows a former release stored (no endpoint
// templates declared, no endpoints registered by the batches: what
// migration 00010 finds and registers with the method unknown) move under
// the templates at the first pass, every total unchanged.
func TestHistoryFoldedIn(t *testing.T) {
	st, db := database(t)
	ctx := testCtx(t)
	// The former release: the catalogs without their endpoints.
	old := map[string]*fstest.MapFile{}
	for _, p := range []string{"finterra", "cheers", "flexiti", "finix", "paylera"} {
		data, err := os.ReadFile(filepath.Join("..", "classify", "catalogs", p+".yaml"))
		require.NoError(t, err)
		text := string(data)
		if i := strings.Index(text, "\nendpoints:"); i >= 0 {
			text = text[:i+1]
		}
		text = strings.Replace(text, "\nbase_paths:", "\n# base_paths:", 1)
		old[p+".yaml"] = &fstest.MapFile{Data: []byte(text)}
	}
	cats, err := classify.LoadCatalogs(fstest.MapFS(old))
	require.NoError(t, err)
	former, err := classify.New(cats, classify.Options{Hosts: synth.IDShapesHosts()})
	require.NoError(t, err)
	g := synth.NewIDShapes(synth.Options{Seed: 31, ErrorRate: 0.2, Start: time.Now().Add(-time.Hour)})
	bb := ingest.NewBuilder(former, store.Source{Group: "g", Topic: "t"}, store.NoOffset, ingest.BuilderOptions{})
	for i := range 20000 {
		usable, _ := bb.Add(g.Next().Record, "t", 0, int64(i))
		require.Equal(t, 1, usable)
	}
	b := bb.Take(20000)
	b.Endpoints = nil // a former release registered nothing
	require.NoError(t, st.WriteBatch(ctx, b))
	_, err = db.Exec(ctx, `INSERT INTO endpoints (provider, method, endpoint) SELECT DISTINCT provider, '', endpoint FROM rollup_requests_hourly`)
	require.NoError(t, err)

	sums := func() (requests, errs, groups, events int64) {
		require.NoError(t, db.QueryRow(ctx, `SELECT (SELECT sum(requests) FROM rollup_requests), (SELECT sum(errors) FROM rollup_requests_hourly),
			(SELECT sum(count) FROM error_groups), (SELECT count(*) FROM events)`).Scan(&requests, &errs, &groups, &events))
		return
	}
	var literal int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM rollup_requests WHERE endpoint LIKE '/v1/invoices/inv\_%'`).Scan(&literal))
	require.Greater(t, literal, 0, "the former release left ids without digits literal")
	r0, e0, g0, n0 := sums()

	tpl, err := ingest.NewTemplater(ingest.TemplatesConfig{Store: st, Classifier: idClassifier(t)})
	require.NoError(t, err)
	p, err := tpl.Pass(ctx)
	require.NoError(t, err)
	require.Greater(t, p.Folded.Endpoints, int64(100))
	r1, e1, g1, n1 := sums()
	require.Equal(t, []int64{r0, e0, g0, n0}, []int64{r1, e1, g1, n1}, "totals unchanged")
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM rollup_requests WHERE endpoint LIKE '/v1/invoices/inv\_%'`).Scan(&literal))
	require.Zero(t, literal, "declared templates took the history")
	var endpoints int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(DISTINCT endpoint) FROM rollup_requests WHERE provider = 'paylera'`).Scan(&endpoints))
	require.LessOrEqual(t, endpoints, 7+30, "paylera's 7 endpoints, and the ids without digits too few to learn yet")
}
