#!/usr/bin/env bash
# make demo: faultline end to end on this machine, in about a minute and a
# half with a warm build cache.
#
# It starts a Kafka-protocol broker (kfake) on loopback and, unless
# DATABASE_URL is set, a throwaway PostgreSQL server in a temporary
# directory; generates a few days of traffic from all five providers with
# a decline spike and an expired-token storm in it, produces it to the
# topic, and runs the real `ingest run` until it has caught up. Then it
# prints the alerts of the period, a lookup of one alert's sample id with
# its escalation block, and the weekly summary, and writes the weekly HTML
# report. Everything it started is stopped, and its temporary directory
# removed, when it ends, also when interrupted with Ctrl-C.
#
# DEMO_DAYS (default 4) and DEMO_RATE (requests a minute at the daily peak,
# default 300) size the traffic.
set -euo pipefail
cd "$(dirname "$0")/.."

days=${DEMO_DAYS:-4}
rate=${DEMO_RATE:-300}
bin=bin
out=bin # where the weekly HTML report goes (not committed)

if [ -t 1 ]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi
die() { echo "demo: $*" >&2; exit 1; }

command -v go >/dev/null || die "Go is missing: install Go $(sed -n 's/^go //p' go.mod) from https://go.dev/dl and put it on PATH"

# The throwaway Postgres server, unless DATABASE_URL names one.
pgbin=""
if [ -z "${DATABASE_URL:-}" ]; then
  for d in "" /usr/lib/postgresql/*/bin; do
    if [ -z "$d" ]; then
      command -v initdb >/dev/null && command -v pg_ctl >/dev/null && { pgbin=$(dirname "$(command -v initdb)"); break; }
    elif [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      pgbin=$d
    fi
  done
  [ -n "$pgbin" ] || die "PostgreSQL server binaries (initdb, pg_ctl) are missing: install them (Debian: apt-get install postgresql) or set DATABASE_URL to a database the demo may fill"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/faultline-demo.XXXXXX")
pids=()
pgdata=""
as_pg=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pgdata" ]; then "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping what it started"; exit 130' INT TERM

say "building"
go build -o "$bin/" ./cmd/ingest ./cmd/report ./cmd/loggen ./cmd/fakekafka

# free_port prints a loopback TCP port nothing listens on, below Linux's
# ephemeral range (32768 and up), whose ports this machine's own outgoing
# connections take: a server cannot bind one of those while it is in use.
free_port() {
  local p
  for p in $(shuf -i 20000-32767 -n 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  die "no free port on 127.0.0.1"
}

if [ -n "$pgbin" ]; then
  say "starting a throwaway PostgreSQL in $work"
  pgdata=$work/pgdata
  if [ "$(id -u)" = 0 ]; then # initdb refuses root: run the server as postgres
    id postgres >/dev/null 2>&1 || die "running as root needs a postgres user for initdb; or set DATABASE_URL"
    as_pg=(runuser -u postgres --)
    chown postgres "$work"
  fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --no-sync >"$work/initdb.log" 2>&1 ||
    { cat "$work/initdb.log" >&2; die "initdb failed"; }
  started=
  for _ in 1 2 3; do # a port taken between the check and the bind: another one
    port=$(free_port)
    if "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -l "$work/postgres.log" -w \
      -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null; then
      started=1
      break
    fi
    grep -q 'could not bind' "$work/postgres.log" || break
  done
  [ -n "$started" ] || { cat "$work/postgres.log" >&2; die "the PostgreSQL server did not start"; }
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
fi

say "starting a Kafka-protocol broker (kfake) on loopback"
: >"$work/broker.out" # before the broker opens it: sed below must find it (set -e)
"$bin/fakekafka" --listen 127.0.0.1:0 --topic integration-logs:4 >"$work/broker.out" 2>&1 &
pids+=($!)
brokers=""
for _ in $(seq 1 100); do
  brokers=$(sed -n 's/^ready //p' "$work/broker.out")
  [ -n "$brokers" ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/broker.out" >&2; die "the broker did not start"; }
  sleep 0.1
done
[ -n "$brokers" ] || die "the broker did not say it was ready"
echo "broker at $brokers"

end=$(date -u +%Y-%m-%dT%H:%M:00Z)
start=$(date -u -d "$end - $days days" +%Y-%m-%dT%H:%M:00Z)
spike=$(date -u -d "$end - 20 hours" +%Y-%m-%dT%H:%M:00Z)
storm=$(date -u -d "$end - 8 hours" +%Y-%m-%dT%H:%M:00Z)
say "producing $days days of traffic ($start to $end): a Finix decline spike at $spike, a Finterra expired-token storm at $storm"
"$bin/loggen" --kafka-brokers "$brokers" --start "$start" --duration "$((days * 24))h" --rate "$rate" --seed 46 \
  --incident "kind=decline_spike,provider=finix,start=$spike,length=40m,strength=0.25,subcode=INSUFFICIENT_FUNDS" \
  --incident "kind=expired_token_storm,provider=finterra,start=$storm,length=30m,strength=0.3"

say "ingesting with ingest run"
"$bin/ingest" migrate --log-level warn --database-url "$DATABASE_URL" >/dev/null
"$bin/ingest" run --kafka-brokers "$brokers" --http-addr "" --log-level warn --database-url "$DATABASE_URL" &
pids+=($!)
ingest=$!
while :; do
  kill -0 "$ingest" 2>/dev/null || die "ingest run stopped"
  status=$("$bin/ingest" status --json --kafka-brokers "$brokers" --database-url "$DATABASE_URL" 2>/dev/null || true)
  total=$(printf '%s' "$status" | grep -o '"high_watermark": [0-9]*' | awk '{s+=$2} END {print s+0}')
  lag=$(printf '%s' "$status" | grep -o '"lag": [0-9]*' | awk '{s+=$2} END {print s+0}')
  stored=$(printf '%s' "$status" | grep -o '"stored_offset": [0-9]*' | awk '{s+=$2} END {print s+0}')
  printf '\r%s of %s records stored' "$stored" "$total"
  [ "$total" -gt 0 ] && [ "$lag" -eq 0 ] && [ "$stored" -ge "$total" ] && break
  sleep 0.5
done
echo
kill -TERM "$ingest"
wait "$ingest" || true

say "alerts of the period (report alerts --from $start --to $end)"
"$bin/report" alerts --database-url "$DATABASE_URL" --from "$start" --to "$end" --log-level warn
sample=$("$bin/report" alerts --database-url "$DATABASE_URL" --from "$start" --to "$end" --dry-run --json --log-level warn |
  grep -o '"sample_correlation_id": *"[^"]*"' | head -1 | sed 's/.*: *"//; s/"$//')

if [ -n "$sample" ]; then
  say "what support sends the provider: report lookup $sample"
  "$bin/report" lookup --database-url "$DATABASE_URL" "$sample" | head -60
fi

week=$(date -u -d "$end - 1 day" +%G-W%V)
say "weekly summary of $week (report weekly --week $week, up to the first provider's section)"
"$bin/report" weekly --database-url "$DATABASE_URL" --week "$week" | sed '/^## /,$d'
html=$out/weekly-$week.html
"$bin/report" weekly --database-url "$DATABASE_URL" --week "$week" --format html --output "$html"
say "the weekly HTML report is in $html: open it in a browser"
echo "demo done in ${SECONDS}s"
