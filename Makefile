# faultline: make demo, make test, make bench.
GO      ?= go
BIN     := bin
FUZZTIME ?= 20s

.PHONY: all build test vet lint race fuzz demo bench clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...

# go.mod tidy, vet and staticcheck (go install honnef.co/go/tools/cmd/staticcheck@latest).
lint:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	staticcheck ./...

# The race detector over every package but the end-to-end tests (whose
# processes it cannot see into). Two tests of end-to-end scale are left to
# `make test`, which runs them: the three-week scenario of 3.6 million
# records through the pipeline (alerting) and the redactor's worst shapes at
# a megabyte each (redact); the race detector makes them ten times slower.
race:
	$(GO) test -race -count=1 -skip '^(TestScenarioBacktest|TestWorstShapes)$$' $$($(GO) list ./... | grep -v '/test$$')

# Every test, against real Postgres and the Kafka protocol where a test needs them.
test:
	$(GO) test -count=1 $(GOTESTFLAGS) ./...
	cd deploy/validate && $(GO) vet ./... && $(GO) test -count=1 $(GOTESTFLAGS) ./...

# A short run of each fuzz test.
fuzz:
	$(GO) test ./classify -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME)
	$(GO) test ./classify -run '^$$' -fuzz '^FuzzScanMatchesEncodingJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./classify -run '^$$' -fuzz '^FuzzEndpoint$$' -fuzztime $(FUZZTIME)
	$(GO) test ./classify -run '^$$' -fuzz '^FuzzClassifyAll$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/jsonstr -run '^$$' -fuzz '^FuzzUnescape$$' -fuzztime $(FUZZTIME)
	$(GO) test ./redact -run '^$$' -fuzz '^FuzzDocument$$' -fuzztime $(FUZZTIME)
	$(GO) test ./redact -run '^$$' -fuzz '^FuzzText$$' -fuzztime $(FUZZTIME)
	$(GO) test ./ingest -run '^$$' -fuzz '^FuzzRecordToRows$$' -fuzztime $(FUZZTIME)

# faultline end to end: a broker and (unless DATABASE_URL is set) a
# throwaway Postgres, days of traffic with incidents, ingest run, alerts, a
# lookup and the weekly report (scripts/demo.sh).
demo:
	scripts/demo.sh

# Benchmarks, reported as ratios against references measured in the same run.
bench: build
	scripts/bench.sh

clean:
	rm -rf $(BIN)
