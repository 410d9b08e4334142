# faultline: make demo, make test, make bench.
GO      ?= go
BIN     := bin
FUZZTIME ?= 20s

.PHONY: all build test vet fuzz demo bench clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...

# Every test, against real Postgres and the Kafka protocol where a test needs them.
test:
	$(GO) test -count=1 $(GOTESTFLAGS) ./...

# A short run of each fuzz test.
fuzz:
	$(GO) test ./classify -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME)
	$(GO) test ./classify -run '^$$' -fuzz '^FuzzScanMatchesEncodingJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./classify -run '^$$' -fuzz '^FuzzRedactBody$$' -fuzztime $(FUZZTIME)

# Classify the bundled sample and print a per-provider summary.
demo: build
	$(BIN)/ingest classify --summary < demo/sample.ndjson

# Benchmarks, reported as ratios against references measured in the same run.
bench: build
	scripts/bench.sh

clean:
	rm -rf $(BIN)
