#!/usr/bin/env bash
# Benchmarks faultline and prints ratios against references measured in the
# same run. Numbers are for this machine, now: compare ratios, not seconds.
#
# BENCH=classify|redact|ingest|alerts|report|serve runs one part (default: all).
# The report and serve parts load REPORTBENCH_EVENTS (default 10,000,000)
# events into the database REPORTBENCH_DATABASE_URL (default
# faultline_reportbench on 127.0.0.1:5432) once; later runs reuse it. The
# serve part adds two days of traffic with five incidents to it once (for
# the alert pages), starts bin/report serve on loopback and loads it with
# SERVEBENCH_CLIENTS (default 8) clients of tools/servebench, a second
# process, for SERVEBENCH_DURATION (default 60s).
set -euo pipefail
cd "$(dirname "$0")/.."
part="${BENCH:-all}"
run() { [ "$part" = all ] || [ "$part" = "$1" ]; }

if run classify; then
echo "== classify: decode+classify on one core vs encoding/json into structs =="
GOMAXPROCS=1 go test ./classify -run '^$' -bench '^BenchmarkClassify$' -cpu 1 -benchtime 1000000x -count 3 \
  | awk '/^BenchmarkClassify/ {
      for (i = 1; i <= NF; i++) { if ($(i+1) == "records/s") r = $i; if ($(i+1) == "ref_records/s") ref = $i; if ($(i+1) == "x_encoding_json") x = $i; if ($(i+1) == "allocs/op") a = $i }
      printf "  faultline %8.0f records/s   encoding/json %8.0f records/s   ratio %.2fx   %s allocs/record\n", r, ref, x, a
    }'
echo "== classify: each shape a logging stack writes, on one core (OpenTelemetry: 20 records a message) =="
GOMAXPROCS=1 go test ./classify -run '^$' -bench '^BenchmarkClassifyShapes$' -cpu 1 -benchtime 5x -count 1 \
  | awk '/^BenchmarkClassifyShapes\// {
      for (i = 1; i <= NF; i++) { if ($(i+1) == "records/s") r = $i; if ($(i+1) == "x_contract") x = $i }
      name = $1; sub(/^BenchmarkClassifyShapes\//, "", name)
      printf "  %-18s %8.0f records/s   %.2fx the contract'"'"'s\n", name, r, x
    }'
echo
fi

if run redact; then
echo "== redact: worst shapes, 64 KiB and 1 MiB (linear: the same MB/s at both sizes) =="
go test ./redact -run '^$' -bench '^BenchmarkWorstShapes$' -benchtime 3x -count 1 \
  | awk '/^BenchmarkWorstShapes/ {
      split($1, p, "/"); name = p[2]; size = p[3]; sub(/-[0-9]+$/, "", size)
      for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") v = $i
      mbs[name, size] = v; if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    }
    END {
      for (k = 1; k <= n; k++) { s = order[k]; printf "  %-32s %8.1f MB/s  %8.1f MB/s  (%.0f ms per MiB)\n", s, mbs[s, "64KiB"], mbs[s, "1024KiB"], 1000 / mbs[s, "1024KiB"] }
    }'
echo
fi

if run ingest; then
echo "== ingest: Kafka (kfake on loopback) to Postgres, exactly once =="
command -v kcat >/dev/null || { echo "kcat is required (apt-get install kcat)"; exit 1; }
go run ./tools/ingestbench --records "${BENCH_RECORDS:-1000000}"
echo
fi

if run alerts; then
echo "== alerts: over 90 days of rollups at the 10-million-error scale (filled with COPY, hourly ones derived) =="
go test ./alerting -run '^$' -bench '^(BenchmarkBacktestWeek|BenchmarkEvaluateMinute)$' -benchtime "${BENCH_ALERT_RUNS:-10}x" -count 1 \
  | awk '/^Benchmark(BacktestWeek|EvaluateMinute)/ {
      for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^ms\//) { v = $i; u = $(i+1) } if ($(i+1) == "ref_ms") r = $i; if ($(i+1) == "x_ref") x = $i; if ($(i+1) == "read_ms") d = $i; if ($(i+1) == "x_read") xd = $i }
      name = ($1 ~ /Backtest/) ? "one-week backtest (target < 1000 ms)" : "one minute, stored (target < 100 ms)"
      printf "  %-38s %8.1f ms\n", name, v
      printf "  %-38s %8.1f ms   ratio %.1fx\n", "  plain read of the span per minute", r, x
      printf "  %-38s %8.1f ms   ratio %.1fx\n", "  plain read of the rows it reads", d, xd
    }
    /bench database:/ { sub(/^[ \t]*bench_test.go:[0-9]+: /, ""); print "  " $0 }'
echo
fi

if run report; then
echo "== report: weekly, trends and lookups over ${REPORTBENCH_EVENTS:-10000000} stored error events =="
go run ./tools/reportbench load --events "${REPORTBENCH_EVENTS:-10000000}"
go run ./tools/reportbench measure --bin bin
echo
fi

if run serve; then
echo "== serve: the web console under ${SERVEBENCH_CLIENTS:-8} concurrent clients, over the report database =="
command -v htpasswd >/dev/null || { echo "htpasswd is required (apt-get install apache2-utils)"; exit 1; }
db="${REPORTBENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/faultline_reportbench?sslmode=disable}"
go run ./tools/reportbench load --events "${REPORTBENCH_EVENTS:-10000000}" --database-url "$db"
if [ "$(psql "$db" -Atc 'select count(*) from alerts')" = 0 ]; then
  echo "adding two days of traffic with five incidents, for the alert pages"
  incidents=$(mktemp)
  bin/loggen --start 2026-11-19T00:00:00Z --duration 48h --rate 800 \
    --incident kind=decline_spike,provider=finix,start=+10h,length=40m,strength=0.6 \
    --incident kind=expired_token_storm,provider=finterra,start=+20h,length=30m,strength=0.5 \
    --incident kind=provider_outage,provider=paylera,start=+30h,length=25m,strength=0.6 \
    --incident kind=new_code,provider=flexiti,start=+40h,length=30m,strength=0.4,code=FX_NEW_HOLD \
    --incident kind=rate_limit_storm,provider=finterra,start=+44h,length=20m,strength=0.6 > "$incidents"
  bin/ingest replay --database-url "$db" "$incidents"
  rm -f "$incidents"
  bin/report alerts --database-url "$db" --from 2026-11-18T00:00:00Z --to 2026-11-21T12:00:00Z | grep -c '^RESOLVED\|^FIRING' | sed 's/^/  alerts: /'
fi
work=$(mktemp -d)
serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$work"' EXIT
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
htpasswd -cbB "$work/htpasswd" bench "$password" 2>/dev/null
# One user sends hundreds of lookups a second: the per-user limit is lifted.
# Its log (one line a request) stays in the temporary directory.
bin/report serve --database-url "$db" --htpasswd "$work/htpasswd" --addr 127.0.0.1:0 \
  --lookup-rate 1000000 --lookup-burst 1000000 2> "$work/serve.log" &
serve_pid=$!
addr=
for _ in $(seq 1 100); do
  addr=$(grep -o '"msg":"console listening".*"addr":"[^"]*"' "$work/serve.log" | sed 's/.*"addr":"\([^"]*\)"/\1/' || true)
  [ -n "$addr" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "report serve did not start"; cat "$work/serve.log"; exit 1; }
SERVEBENCH_PASSWORD="$password" go run ./tools/servebench --url "http://$addr" --user bench --database-url "$db" \
  --clients "${SERVEBENCH_CLIENTS:-8}" --duration "${SERVEBENCH_DURATION:-60s}"
fi
