package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/store"
)

func TestMetricsCountRequestsPerProviderWithBoundedLabels(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 30, 0, time.UTC)
	bb := NewBuilder(newClassifier(t), store.Source{Group: "g", Topic: "t"}, store.NoOffset,
		BuilderOptions{Keep: 90 * 24 * time.Hour, Now: func() time.Time { return now }})
	recs := []string{
		`{"ts":"2026-11-02T10:00:01Z","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":201}`,
		`{"ts":"2026-11-02T10:00:02Z","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":402,"response_body":{"_embedded":{"errors":[{"logref":"L1","code":"DECLINED","failure_code":"CALL_ISSUER"}]}}}`,
		`{"ts":"2026-11-02T10:01:03Z","provider":"finix","method":"GET","url":"https://finix.com/transfers/TR1","status":200}`,
		`{"ts":"2026-11-02T10:00:04Z","provider":"acme-1","method":"GET","url":"https://acme.example/x","status":200}`,
		`{"ts":"2026-11-02T10:00:05Z","provider":"acme-2","method":"GET","url":"https://acme.example/y","status":503}`,
		`not json`,
	}
	for i, r := range recs {
		bb.Add([]byte(r), "t", 0, int64(i))
	}
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, []string{"finix", "paylera"})
	m.batchWritten(bb.Take(int64(len(recs))), time.Millisecond)

	got := gathered(t, reg)
	require.Equal(t, map[string]float64{"provider=finix": 3, "provider=paylera": 0, "provider=" + otherProvider: 2}, got["faultline_provider_requests_total"],
		"every catalog provider is exported from the start; providers without a catalog share one label value")
	require.Equal(t, 5.0, got["faultline_records_stored_total"][""], "the per-provider counts add up to the records stored")
	require.Equal(t, map[string]float64{"category=decline,provider=finix": 1, "category=provider_error,provider=" + otherProvider: 1}, got["faultline_provider_errors_total"])
}

// gathered is every counter of reg: metric name → its labels (name=value,
// sorted, comma separated) → value. A pedantic registry also checks the metrics' consistency.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]map[string]float64{}
	for _, f := range families {
		if f.GetType() != dto.MetricType_COUNTER {
			continue
		}
		vals := map[string]float64{}
		for _, m := range f.GetMetric() {
			var key []string
			for _, l := range m.GetLabel() {
				key = append(key, l.GetName()+"="+l.GetValue())
			}
			vals[strings.Join(key, ",")] = m.GetCounter().GetValue()
		}
		out[f.GetName()] = vals
	}
	return out
}

// TestREADMEListsEveryDeadLetterReason: the table of dead-letter reasons
// in README names every reason a record can be dead-lettered for.
func TestREADMEListsEveryDeadLetterReason(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range DeadLetterReasons {
		if !strings.Contains(string(readme), "`"+string(r)+"`") {
			t.Errorf("README does not list the dead-letter reason %s", r)
		}
	}
}
