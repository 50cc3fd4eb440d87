# glint-github-app. `make run` starts the demo; `make test` runs the whole suite.
GO            ?= go
BIN           := bin/glint-github-app
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -s -w -X main.version=$(VERSION)

# GitHub's public GraphQL schema, from the npm package @octokit/graphql-schema,
# pinned by version and checksum; fetched into a git-ignored cache, never committed.
SCHEMA_VERSION := 15.26.1
SCHEMA_SHA256  := 3c62d0526d133cee53221c89de9b455ade24db78b9e7ad56d642c4c15bce2654
SCHEMA_DIR     := .cache/github-graphql-schema
SCHEMA         := $(SCHEMA_DIR)/schema.graphql

.PHONY: all build test test-short test-integration lint schema run demo bench bench-go bench-backstage docker fuzz soak clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/glint-github-app

schema: $(SCHEMA)

$(SCHEMA):
	@mkdir -p $(SCHEMA_DIR)/tmp
	cd $(SCHEMA_DIR)/tmp && npm pack --silent @octokit/graphql-schema@$(SCHEMA_VERSION) >/dev/null
	tar -xzf $(SCHEMA_DIR)/tmp/octokit-graphql-schema-$(SCHEMA_VERSION).tgz -C $(SCHEMA_DIR)/tmp package/schema.graphql package/schema.json
	echo "$(SCHEMA_SHA256)  $(SCHEMA_DIR)/tmp/package/schema.graphql" | sha256sum -c --quiet
	mv $(SCHEMA_DIR)/tmp/package/schema.json $(SCHEMA_DIR)/schema.json
	mv $(SCHEMA_DIR)/tmp/package/schema.graphql $(SCHEMA)
	rm -rf $(SCHEMA_DIR)/tmp

# The whole suite: formatting, vet, and every test with the race detector.
test: schema lint
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-integration: schema
	$(GO) test -race -count=1 -tags=integration ./...

# The demo: a fake GHE and a fake Glint on loopback, and the app serving against them.
run: demo
demo: schema
	$(GO) run ./cmd/glint-github-app demo

bench-go: schema
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Enterprise scale (README, Performance): 10,000 repositories on loopback fakes with 20 ms latency;
# cold, unchanged and 1%-changed passes, checked against the targets. BENCH_FLAGS adds flags
# (e.g. BENCH_FLAGS='-repos 100000').
bench: schema
	$(GO) build -o bin/glint-github-app-bench ./cmd/glint-github-app-bench
	bin/glint-github-app-bench $(BENCH_FLAGS)

# The same discovery by Backstage's GitHub entity provider (needs node and npm).
bench-backstage: schema
	cd bench/backstage && npm ci --no-audit --no-fund
	$(GO) build -o bin/glint-github-app-bench ./cmd/glint-github-app-bench
	bin/glint-github-app-bench backstage $(BENCH_FLAGS)

docker:
	docker build --build-arg VERSION=$(VERSION) -t glint-github-app:$(VERSION) .

# Every fuzz target for FUZZTIME each (go test -fuzz takes one target at a
# time); their seed corpora (testdata/fuzz/) run in `make test`.
FUZZTIME ?= 60s
FUZZ_TARGETS := ./ghe/:FuzzParseSpec ./ghe/:FuzzInstallationsAnswer ./ghe/:FuzzRepositoriesAnswer \
	./ghe/:FuzzGraphQLAnswer ./glint/:FuzzSearchAnswer ./glint/:FuzzBulkAnswer ./glint/:FuzzTokenAnswer \
	./cmd/glint-github-app/:FuzzConfig
fuzz: schema
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

# The soak: 300 passes against the fakes with random faults on every kind
# of request, the invariants checked after each. SOAK_FLAGS="-seed 7" etc.
SOAK_FLAGS ?=
soak: schema
	$(GO) run ./cmd/glint-github-app-soak -passes 300 $(SOAK_FLAGS)

clean:
	rm -rf bin .cache
