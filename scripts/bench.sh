#!/usr/bin/env bash
# Benchmarks faultline and prints ratios against references measured in the
# same run. Numbers are for this machine, now: compare ratios, not seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== classify: decode+classify on one core vs encoding/json into structs =="
GOMAXPROCS=1 go test ./classify -run '^$' -bench '^BenchmarkClassify$' -cpu 1 -benchtime 1000000x -count 3 \
  | awk '/^BenchmarkClassify/ {
      for (i = 1; i <= NF; i++) { if ($(i+1) == "records/s") r = $i; if ($(i+1) == "ref_records/s") ref = $i; if ($(i+1) == "x_encoding_json") x = $i; if ($(i+1) == "allocs/op") a = $i }
      printf "  faultline %8.0f records/s   encoding/json %8.0f records/s   ratio %.2fx   %s allocs/record\n", r, ref, x, a
    }'

echo
echo "== ingest: Kafka (kfake on loopback) to Postgres, exactly once =="
command -v kcat >/dev/null || { echo "kcat is required (apt-get install kcat)"; exit 1; }
go run ./tools/ingestbench --records "${BENCH_RECORDS:-1000000}"
