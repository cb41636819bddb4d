# tabraft — see README.md. `make run` and `make test` do all set-up themselves.
GO       ?= go
SEEDS    ?= 2000
CHURN_SEEDS ?= 300
FUZZTIME ?= 10s

.PHONY: bench-browser run wasm test vet unit race sim fuzz browser bench bench-compare bench-signal signal docker-signal narrate

ADDR ?= 127.0.0.1:8080
WASM := out/web/tabraft.wasm

## run: build the browser member, start the signaling server with the demo, print its URL.
run: wasm
	@echo
	@echo "  tabraft demo: open http://$(ADDR)/ in two or more tabs (Ctrl-C stops the server)"
	@echo
	$(GO) run ./cmd/tabraft-signal -addr $(ADDR) -wasm-dir out/web

## wasm: the member compiled for browsers, with its brotli and gzip copies.
wasm:
	@mkdir -p out/web
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WASM).new ./cmd/tabraft-wasm
	@if cmp -s $(WASM).new $(WASM); then rm $(WASM).new; else mv $(WASM).new $(WASM); fi
	$(GO) run ./internal/cmd/precompress $(WASM)

## narrate: watch a 5-member simulated cluster elect, replicate and survive faults.
narrate:
	$(GO) run ./cmd/tabraft-sim -members 5 -narrate -seed 1 -duration 20s

## test: everything CI runs (vet, unit tests, race tests, simulator seeds, short fuzzing, browser tests).
test: vet unit race sim fuzz browser

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/... ./peer/... ./signaling/client/...

unit:
	$(GO) test -count=1 ./...

# The packages with goroutines of their own also run under the race detector.
race:
	$(GO) test -count=1 -race ./signaling/... ./cmd/tabraft-signal/... ./peer/... ./wasm/...

sim:
	$(GO) run ./cmd/tabraft-sim -seeds $(SEEDS) -members 5
	$(GO) run ./cmd/tabraft-sim -churn -seeds $(CHURN_SEEDS)

# Tests in headless Chromium (installed when missing, as root): GOOS=js
# unit tests (through wasmbrowsertest), then native tests driving the browser.
browser:
	./scripts/ensure-chromium.sh
	./scripts/jstest.sh -count=1 ./wasm/... ./peer/wire ./peer/board ./peer/record ./peer/rtc ./internal/jspromise
	TABRAFT_BROWSER_TEST=1 WASMBROWSERTEST=$$(./scripts/wasmbrowsertest.sh) \
		$(GO) test -count=1 -run '^TestBrowser' ./peer/rtc ./signaling/client ./cmd/tabraft-wasm
	TABRAFT_BROWSER_TEST=1 $(GO) test -count=1 ./e2e

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzStep$$' -fuzztime=$(FUZZTIME) ./raft
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRequest$$' -fuzztime=$(FUZZTIME) ./signaling
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./peer/wire
	$(GO) test -run='^$$' -fuzz='^FuzzReplayFramed$$' -fuzztime=$(FUZZTIME) ./peer/filelog
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./peer/record

## signal: run the signaling server and the pages on http://127.0.0.1:8080
signal:
	$(GO) run ./cmd/tabraft-signal

## bench: core benchmarks, a long simulator run, the comparison with etcd/hashicorp raft.
bench:
	$(GO) test -run='^$$' -bench=. -benchtime=3s ./raft
	$(GO) run ./cmd/tabraft-sim -seeds 20000 -members 5
	$(GO) test -run='^$$' -bench='Cluster|Read' ./peer
	cd bench && $(GO) run ./cmd/compare -duration 3s -rounds 3

## bench-browser: 3 tabs in headless Chromium: writes/s, commit latency, failover after the leader's tab closes.
bench-browser:
	./scripts/ensure-chromium.sh
	$(GO) run ./cmd/tabraft-bench

## bench-signal: 1,000 WebSocket clients in 100 rooms relay 100,000 messages.
bench-signal:
	$(GO) test -run='^$$' -bench=Relay -benchtime=1x ./signaling/server

## docker-signal: the deployable image (needs a Docker engine).
docker-signal:
	docker build -f cmd/tabraft-signal/Dockerfile -t tabraft-signal .
