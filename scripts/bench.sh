#!/usr/bin/env bash
# Benchmarks faultline and prints ratios against references measured in the
# same run. Numbers are for this machine, now: compare ratios, not seconds.
#
# BENCH=classify|ingest|alerts|report runs one part (default: all).
# The report part loads REPORTBENCH_EVENTS (default 10,000,000) events into
# the database REPORTBENCH_DATABASE_URL (default faultline_reportbench on
# 127.0.0.1:5432) once; later runs reuse it.
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
fi
