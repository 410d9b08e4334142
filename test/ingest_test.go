package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkatest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/synth"
)

// records returns n realistic records starting an hour ago, with bad ones
// mixed in: not JSON, no timestamp, NUL bytes, invalid UTF-8, oversized.
func records(n int, seed uint64) [][]byte {
	g := synth.New(synth.Options{Seed: seed, Start: time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)})
	bad := [][]byte{
		[]byte("this is not json, card 4111 1111 1111 1111"),
		[]byte(`{"status":500,"provider":"finix"}`),
		[]byte("{\"ts\":\"2026-11-02T10:00:00Z\",\x00\"status\":500}"),
		[]byte("{\"ts\":\"2026-11-02T10:00:00Z\",\"service\":\"\xff\xfe\",\"status\":500}"),
		[]byte(`{"ts":"2026-11-02T10:00:00Z","status":500,"response_body":"` + strings.Repeat("x", 70000) + `"}`),
	}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		if i%997 == 500 {
			out = append(out, bad[(i/997)%len(bad)])
			continue
		}
		out = append(out, g.Next(nil))
	}
	return out
}

func requireSameState(t *testing.T, want, got snapshot) {
	t.Helper()
	require.Equal(t, want.Events, got.Events, "events")
	require.Equal(t, got.Events, got.DistinctEventSources, "an event stored twice")
	require.Equal(t, want.DeadLetters, got.DeadLetters, "dead letters")
	require.Equal(t, want.DeadLetterReasons, got.DeadLetterReasons, "dead letters by reason")
	require.Equal(t, want.Requests, got.Requests, "requests per provider")
	require.Equal(t, want.RequestErrors, got.RequestErrors, "errors per provider in the request rollup")
	require.Equal(t, want.Errors, got.Errors, "error rollup")
	require.Equal(t, want.Groups, got.Groups, "error groups")
}

func TestIngestEndToEnd(t *testing.T) {
	e := newEnv(t, 4, "")
	recs := records(20000, 1)
	e.broker.Produce(t, e.topic, recs)
	p := e.ingest()
	e.waitCaughtUp(60*time.Second, p)
	want := expect(t, recs, 65536)

	// The HTTP listener: health, readiness and metrics that match the data.
	base := "http://" + p.addr
	require.Equal(t, "ok\n", httpGet(t, base+"/healthz"))
	require.Equal(t, "ready\n", httpGet(t, base+"/readyz"))
	metrics := httpGet(t, base+"/metrics")
	require.Contains(t, metrics, fmt.Sprintf("faultline_records_consumed_total %d\n", len(recs)))
	require.Contains(t, metrics, fmt.Sprintf("faultline_events_stored_total %d\n", want.Events))
	require.Contains(t, metrics, fmt.Sprintf(`faultline_dead_letters_total{reason="not_json"} %d`+"\n", want.DeadLetterReasons["not_json"]))
	require.Contains(t, metrics, `faultline_provider_errors_total{category="decline",provider="finix"}`)
	require.Contains(t, metrics, `faultline_partition_lag{partition="0"}`)
	require.Contains(t, metrics, "faultline_batch_write_seconds_bucket")
	p.stop(t)

	require.Greater(t, want.Events, int64(1000))
	require.Equal(t, int64(len(recs)), want.DeadLetters+sum(want.Requests))
	requireSameState(t, want, e.snapshot())

	// Restarting over a fully stored topic changes nothing: the process
	// joins the group, is assigned every partition at its stored offset
	// (as it logged before counting the partition), and reads nothing.
	p = e.ingest()
	p.waitMetric(t, 30*time.Second, "faultline_partitions_assigned", func(v float64) bool { return v == 4 })
	stored := e.storedOffsets()
	for part := range int32(4) {
		require.Contains(t, p.logs(), fmt.Sprintf(`"partition":%d,"resume_from":%d`, part, stored[part]))
	}
	require.Zero(t, p.metric(t, "faultline_records_consumed_total"))
	p.stop(t)
	requireSameState(t, want, e.snapshot())

	// Kafka's committed offsets follow the database, for lag monitoring.
	out, err := exec.Command(ingestBin, "status", "--json", "--database-url", e.dbURL,
		"--kafka-brokers", strings.Join(e.broker.Addrs(), ","), "--kafka-topic", e.topic, "--kafka-group", e.group,
		"--from", time.Now().Add(-48*time.Hour).Format(time.RFC3339)).Output()
	require.NoError(t, err)
	var st struct {
		Partitions []struct {
			Topic         string `json:"topic"`
			Partition     int32  `json:"partition"`
			StoredOffset  int64  `json:"stored_offset"`
			HighWatermark int64  `json:"high_watermark"`
			Lag           int64  `json:"lag"`
		} `json:"partitions"`
		DeadLetters        int64            `json:"dead_letters"`
		RequestsByProvider map[string]int64 `json:"requests_by_provider"`
		ErrorsByProvider   map[string]int64 `json:"errors_by_provider"`
	}
	require.NoError(t, json.Unmarshal(out, &st), "%s", out)
	require.Len(t, st.Partitions, 4)
	for _, p := range st.Partitions {
		require.Equal(t, int64(0), p.Lag, "partition %d", p.Partition)
		require.Equal(t, p.HighWatermark, p.StoredOffset)
	}
	require.Equal(t, want.DeadLetters, st.DeadLetters)
	require.Equal(t, want.Requests, st.RequestsByProvider)
	require.Equal(t, want.RequestErrors, st.ErrorsByProvider)
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestPlantedSecretsNeverStored dumps every table as text and looks for the
// card numbers, tokens, e-mail addresses and PIWs the generator plants.
func TestPlantedSecretsNeverStored(t *testing.T) {
	e := newEnv(t, 2, "")
	recs := records(5000, 2)
	recs = append(recs,
		[]byte(`{"ts":"`+time.Now().UTC().Format(time.RFC3339)+`","provider":"flexiti","status":409,"url":"https://api.flexiti.com/v2.5/client-id/x/customers/1/verify","response_body":{"error":"wrong_inputs","message":"bad","field_errors":[{"param":"security_answer","value":"my first dog rex"},{"param":"dob","value":"1984-07-14"},{"param":"phone_number","value":"416-555-0199"}]}}`),
		[]byte(`{"ts":"`+time.Now().UTC().Format(time.RFC3339)+`","provider":"paylera","status":422,"response_body":"{\"problem\":\"payment.declined\",\"detail\":\"card 5555-5555-5555-4444 declined, contact jane.doe@example.com or +1 (416) 555-0199, SIN 046 454 286\",\"trace_id\":\"T1\"}"}`),
	)
	e.broker.Produce(t, e.topic, recs)
	p := e.ingest()
	e.waitCaughtUp(60*time.Second, p)
	p.stop(t)

	var dump strings.Builder
	for _, table := range []string{"events", "dead_letters", "error_groups", "rollup_errors", "rollup_requests", "consumer_offsets"} {
		rows, err := e.db.Query(context.Background(), "SELECT t::text FROM "+table+" t")
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			dump.WriteString(s)
			dump.WriteByte('\n')
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	all := dump.String()
	require.Contains(t, all, "T1", "ids are kept")
	require.Contains(t, all, "[REDACTED]")
	for _, secret := range []string{
		synth.PlantedCard, strings.ReplaceAll(synth.PlantedCard, " ", ""), synth.PlantedEmail, synth.PlantedToken, synth.PlantedPIW,
		"5555-5555-5555-4444", "416) 555-0199", "416-555-0199", "046 454 286", "my first dog rex", "1984-07-14",
	} {
		require.NotContains(t, all, secret)
	}
}

// TestCrashRecovery kills `ingest run` with SIGKILL at random moments during
// a 200,000-record run, restarting it each time; the final state equals
// what a clean run stores.
func TestCrashRecovery(t *testing.T) {
	e := newEnv(t, 4, "")
	recs := records(200000, 3)
	e.broker.Produce(t, e.topic, recs)
	rng := rand.New(rand.NewPCG(3, 4))
	midRun, last := 0, int64(0)
	for attempt := 0; midRun < 5 && attempt < 12; attempt++ {
		p := e.ingest("--batch-size", "500")
		// Wait until this process has joined the group and stores
		// something, then kill it a random moment later: mid-batch,
		// mid-transaction or between batches. (Stored offsets alone can
		// move after the previous kill, by a commit already on its way,
		// and kfake never expires a member killed in the middle of its
		// join: it keeps that member's partitions for good.)
		p.waitMetric(t, 30*time.Second, "faultline_partitions_assigned", func(v float64) bool { return v >= 1 })
		last = sumOffsets(e.storedOffsets())
		testwait.Within(30*time.Second, func() bool { return sumOffsets(e.storedOffsets()) != last })
		time.Sleep(time.Duration(rng.IntN(80)) * time.Millisecond) // a random moment, not a wait
		p.kill(t)
		stored := sumOffsets(e.storedOffsets())
		if stored > last && stored < int64(len(recs)) {
			midRun++ // killed while it was making progress, before the end
		}
		t.Logf("kill %d: %d of %d records stored", attempt+1, stored, len(recs))
		last = stored
	}
	require.GreaterOrEqual(t, midRun, 5, "at least five kills landed in the middle of the run")
	p := e.ingest()
	e.waitCaughtUp(120*time.Second, p)
	p.stop(t)
	requireSameState(t, expect(t, recs, 65536), e.snapshot())
}

func sumOffsets(m map[int32]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestTwoConsumersSplitPartitions runs two processes in one group; they
// split the partitions and the totals are exact, also when one is killed.
func TestTwoConsumersSplitPartitions(t *testing.T) {
	e := newEnv(t, 4, "")
	recs := records(60000, 4)
	e.broker.Produce(t, e.topic, recs[:30000])
	a, b := e.ingest(), e.ingest()
	for _, p := range []*proc{a, b} {
		p.waitMetric(t, 30*time.Second, "faultline_partitions_assigned", func(v float64) bool { return v >= 1 })
	}
	e.waitCaughtUp(60*time.Second, a, b)

	// Kill one mid-stream; the survivor takes its partitions.
	e.broker.Produce(t, e.topic, recs[30000:45000])
	e.waitStored(30*time.Second, 30000, b)
	a.kill(t)
	e.broker.Produce(t, e.topic, recs[45000:])
	e.waitCaughtUp(90*time.Second, b)
	b.stop(t)
	requireSameState(t, expect(t, recs, 65536), e.snapshot())
}

// TestPostgresRestartMidRun restarts a private Postgres server while ingest
// runs; ingest retries and nothing is lost or doubled.
func TestPostgresRestartMidRun(t *testing.T) {
	pg := pgtest.NewPrivate(t)
	e := newEnv(t, 2, pg.URL())
	recs := records(60000, 5)
	e.broker.Produce(t, e.topic, recs[:30000])
	p := e.ingest("--batch-size", "500")
	e.waitStored(30*time.Second, 0, p)
	e.db.Close()
	pg.Stop(t)
	e.broker.Produce(t, e.topic, recs[30000:])
	p.waitMetric(t, 30*time.Second, `faultline_retries_total{dependency="postgres"}`, func(v float64) bool { return v >= 1 }) // it noticed the outage
	pg.Start(t)
	var err error
	e.db, err = pgxpoolNew(pg.URL())
	require.NoError(t, err)
	e.waitCaughtUp(90*time.Second, p)
	p.stop(t)
	require.Contains(t, p.logs(), "retrying", "ingest noticed the outage")
	requireSameState(t, expect(t, recs, 65536), e.snapshot())
}

// TestReplayIsIdempotent replays the same file twice (and through stdin):
// the second time changes nothing.
func TestReplayIsIdempotent(t *testing.T) {
	dbURL := pgtest.New(t)
	out, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput()
	require.NoError(t, err, "%s", out)
	e := &env{t: t, dbURL: dbURL}
	e.db, err = pgxpoolNew(dbURL)
	require.NoError(t, err)
	t.Cleanup(e.db.Close)

	recs := records(12000, 6)
	file := filepath.Join(t.TempDir(), "backfill.ndjson")
	require.NoError(t, os.WriteFile(file, append(bytes.Join(recs, []byte("\n")), '\n'), 0o644))

	run := func(stdin bool) string {
		args := []string{"replay", "--database-url", dbURL, "--max-record-bytes", "65536", file}
		cmd := exec.Command(ingestBin, args...)
		if stdin {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			cmd = exec.Command(ingestBin, append(args[:len(args)-1], "-")...)
			cmd.Stdin = f
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	first := run(false)
	require.Contains(t, first, "12000 lines, 0 already stored")
	want := expect(t, recs, 65536)
	requireSameState(t, want, e.snapshot())
	second := run(false)
	require.Contains(t, second, "12000 already stored")
	third := run(true)
	require.Contains(t, third, "12000 already stored")
	requireSameState(t, want, e.snapshot())
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, body)
	return string(body)
}

// TestKafkaRestartMidRun stops the broker while ingest runs and starts it
// again on the same address with the same data: ingest retries, resumes and
// stores everything exactly once.
func TestKafkaRestartMidRun(t *testing.T) {
	dir, port := t.TempDir(), kafkatest.FreePort(t)
	e := newEnvOn(t, kafkatest.Start(t, kafkatest.DataDir(dir), kafkatest.Port(port)), 2, "")
	recs := records(40000, 9)
	e.broker.Produce(t, e.topic, recs[:20000])
	p := e.ingest("--batch-size", "500")
	e.waitStored(30*time.Second, 0, p)
	e.broker.Close()
	t.Logf("broker stopped after %d of %d records were stored", sumOffsets(e.storedOffsets()), 20000)
	// It noticed: it retries the group.
	p.waitMetric(t, 30*time.Second, `faultline_retries_total{dependency="kafka"}`, func(v float64) bool { return v >= 1 })
	e.broker = kafkatest.Start(t, kafkatest.DataDir(dir), kafkatest.Port(port))
	e.broker.Produce(t, e.topic, recs[20000:])
	e.waitCaughtUp(90*time.Second, p)
	p.stop(t)
	requireSameState(t, expect(t, recs, 65536), e.snapshot())
}

// poisoned is an error record whose event the test database refuses once
// the test adds the no_poison constraint: a value Postgres rejects.
func poisoned(n int) []byte {
	return fmt.Appendf(nil, `{"ts":"%s","provider":"finterra","status":400,"response_body":{"error":"POISON","message":"poisoned %d","request_id":"req_p%d"}}`,
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), n, n)
}

// TestRefusedRecordsAndUnwritableBatches: records Postgres refuses become
// dead letters and the rest is stored; when not even their dead letters
// can be written, `ingest run` says so and exits 1 instead of retrying
// forever, with the partition's offset left before that batch.
func TestRefusedRecordsAndUnwritableBatches(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 2, "")
	_, err := e.db.Exec(ctx, `ALTER TABLE events ADD CONSTRAINT no_poison CHECK (code <> 'POISON')`)
	require.NoError(t, err)
	recs := records(4000, 11)
	recs[700], recs[2901] = poisoned(1), poisoned(2)
	e.broker.Produce(t, e.topic, recs)
	p := e.ingest()
	e.waitCaughtUp(60*time.Second, p)
	p.stop(t)
	var rejected int
	require.NoError(t, e.db.QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE reason = 'store_rejected'`).Scan(&rejected))
	require.Equal(t, 2, rejected)
	want := expect(t, recs, 65536)
	got := e.snapshot()
	require.Equal(t, want.Events-2, got.Events, "every other event is stored")
	require.Equal(t, want.DeadLetters+2, got.DeadLetters)

	_, err = e.db.Exec(ctx, `ALTER TABLE dead_letters ADD CONSTRAINT no_poison CHECK (raw NOT LIKE '%POISON%') NOT VALID`) // new rows only
	require.NoError(t, err)
	before := e.storedOffsets()
	e.broker.Produce(t, e.topic, [][]byte{poisoned(3), poisoned(4)}) // one per partition
	p = e.ingest()
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "logs:\n%s", tail(p.logs(), 3000))
		require.Equal(t, 1, exit.ExitCode())
	case <-time.After(60 * time.Second):
		t.Fatalf("ingest run did not exit on an unwritable batch; logs:\n%s", tail(p.logs(), 3000))
	}
	require.Contains(t, p.logs(), "can be neither written nor dead-lettered")
	require.Equal(t, before, e.storedOffsets(), "nothing of the unwritable batches is stored")
}
