package validate

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkatest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/synth"
)

// realIngest is an `ingest run` (the binary the image holds) that has
// stored a topic of generated traffic into a fresh database, with its HTTP
// listener up.
type realIngest struct {
	base    string // http://host:port
	dbURL   string
	records int
	proc    *exec.Cmd
	logs    *syncBuffer
	done    chan error
}

const realTopic = "integration-logs"

func startRealIngest(t *testing.T) *realIngest {
	t.Helper()
	broker := kafkatest.Start(t)
	broker.CreateTopic(t, realTopic, 3)
	db := pgtest.New(t)
	out, err := exec.Command(bin("ingest"), "migrate", "--database-url", db).CombinedOutput()
	require.NoError(t, err, "ingest migrate: %s", out)

	// Two hours of calls to every provider, a third of them errors, and a
	// few unusable lines for the dead letters.
	g := synth.New(synth.Options{Seed: 10, Start: time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second), Step: 2 * time.Second, ErrorRate: 0.3})
	var recs [][]byte
	for i := 0; i < 3000; i++ {
		if i%300 == 7 {
			recs = append(recs, []byte("not json"))
			continue
		}
		recs = append(recs, g.Next(nil))
	}
	broker.Produce(t, realTopic, recs)

	addr := fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	r := &realIngest{base: "http://" + addr, dbURL: db, records: len(recs), logs: &syncBuffer{}, done: make(chan error, 1)}
	r.proc = exec.Command(bin("ingest"), "run",
		"--kafka-brokers", strings.Join(broker.Addrs(), ","), "--kafka-topic", realTopic, "--kafka-group", "validate",
		"--kafka-session-timeout", "2s", "--kafka-heartbeat-interval", "300ms", "--kafka-rebalance-timeout", "3s",
		"--database-url", db, "--http-addr", addr, "--batch-wait", "100ms")
	r.proc.Stdout, r.proc.Stderr = r.logs, r.logs
	require.NoError(t, r.proc.Start())
	go func() { r.done <- r.proc.Wait() }()
	t.Cleanup(func() {
		_ = r.proc.Process.Signal(syscall.SIGTERM) // an error if it already exited
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			_ = r.proc.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("ingest logs:\n%s", r.logs.tail(4000))
		}
	})
	r.waitOK(t, "/readyz")
	return r
}

// waitOK waits until the process answers path with 200 (its /readyz or
// /healthz).
func (r *realIngest) waitOK(t *testing.T, path string) {
	t.Helper()
	testwait.UntilNil(t, 20*time.Second, path, func() error {
		r.requireRunning(t)
		resp, err := http.Get(r.base + path)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	})
}

func (r *realIngest) requireRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		t.Fatalf("ingest exited: %v", err)
	default:
	}
}

// waitStored scrapes /metrics until every record is accounted for (stored
// or dead-lettered) and returns that scrape.
func (r *realIngest) waitStored(t *testing.T) scrape {
	t.Helper()
	var s scrape
	testwait.UntilNil(t, 60*time.Second, "every record stored or dead-lettered", func() error {
		r.requireRunning(t)
		s = r.scrape(t)
		done := s.value("faultline_records_stored_total", nil) + s.sum("faultline_dead_letters_total")
		require.LessOrEqual(t, int(done), r.records)
		if int(done) < r.records {
			return fmt.Errorf("%v of %d", done, r.records)
		}
		return nil
	})
	return s
}

// scrape is one parsed /metrics.
type scrape map[string]*dto.MetricFamily

func (r *realIngest) scrape(t *testing.T) scrape {
	t.Helper()
	resp, err := http.Get(r.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return scrape(fams)
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// value is the sample of name whose labels include want (nil: the only
// sample).
func (s scrape) value(name string, want map[string]string) float64 {
	f := s[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		l := labelMap(m)
		match := true
		for k, v := range want {
			if l[k] != v {
				match = false
			}
		}
		if match {
			return sampleValue(m)
		}
	}
	return -1
}

func (s scrape) sum(name string) float64 {
	total := 0.0
	for _, m := range s[name].GetMetric() {
		total += sampleValue(m)
	}
	return total
}

// series is every exported series name (histograms and summaries as their
// _bucket, _sum and _count series) with the label sets it has.
func (s scrape) series() map[string][]map[string]string {
	out := map[string][]map[string]string{}
	for name, f := range s {
		for _, m := range f.GetMetric() {
			l := labelMap(m)
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				bl := map[string]string{"le": ""}
				for k, v := range l {
					bl[k] = v
				}
				out[name+"_bucket"] = append(out[name+"_bucket"], bl)
				out[name+"_sum"] = append(out[name+"_sum"], l)
				out[name+"_count"] = append(out[name+"_count"], l)
			case dto.MetricType_SUMMARY:
				ql := map[string]string{"quantile": ""}
				for k, v := range l {
					ql[k] = v
				}
				out[name] = append(out[name], ql)
				out[name+"_sum"] = append(out[name+"_sum"], l)
				out[name+"_count"] = append(out[name+"_count"], l)
			default:
				out[name] = append(out[name], l)
			}
		}
	}
	return out
}

// readerRole creates Grafana's role with deploy/postgres/grafana-reader.sql
// (run by psql, as compose runs it) under a name of this test's own, and
// returns a URL that connects as it.
func readerRole(t *testing.T, dbURL string) string {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatalf("psql not found: install postgresql-client (CI: .ci/run does)")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role, password := "grafana_reader_"+hex.EncodeToString(b), hex.EncodeToString(b)+"-pw"
	out, err := exec.Command("psql", "-v", "ON_ERROR_STOP=1", "-v", "reader="+role, "-v", "password="+password,
		"-f", repo("deploy", "postgres", "grafana-reader.sql"), dbURL).CombinedOutput()
	require.NoError(t, err, "grafana-reader.sql: %s", out)
	// Idempotent: a second run changes nothing and fails nothing.
	out, err = exec.Command("psql", "-v", "ON_ERROR_STOP=1", "-v", "reader="+role, "-v", "password="+password,
		"-f", repo("deploy", "postgres", "grafana-reader.sql"), dbURL).CombinedOutput()
	require.NoError(t, err, "grafana-reader.sql, again: %s", out)
	t.Cleanup(func() {
		// The database is dropped after this; the role is cluster-wide.
		_ = exec.Command("psql", "-c", fmt.Sprintf(`DROP OWNED BY %q`, role), "-c", fmt.Sprintf(`DROP ROLE %q`, role), dbURL).Run()
	})
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.User = url.UserPassword(role, password)
	return u.String()
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) tail(n int) string {
	str := s.String()
	if len(str) > n {
		return "…" + str[len(str)-n:]
	}
	return str
}
