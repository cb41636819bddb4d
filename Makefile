# tabraft — see README.md. `make run` and `make test` do all set-up themselves.
GO      ?= go
SEEDS   ?= 2000
FUZZTIME ?= 15s

.PHONY: run test vet unit sim fuzz bench bench-compare

## run: watch a 5-member simulated cluster elect, replicate and survive faults.
run:
	$(GO) run ./cmd/tabraft-sim -members 5 -narrate -seed 1 -duration 20s

## test: everything CI runs (vet, unit tests, simulator seeds, a short fuzz).
test: vet unit sim fuzz

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

sim:
	$(GO) run ./cmd/tabraft-sim -seeds $(SEEDS) -members 5

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzStep$$' -fuzztime=$(FUZZTIME) ./raft

## bench: core benchmarks, a long simulator run and the comparison with etcd/hashicorp raft.
bench:
	$(GO) test -run='^$$' -bench=. -benchtime=3s ./raft
	$(GO) run ./cmd/tabraft-sim -seeds 20000 -members 5
	cd bench && $(GO) test -run='^$$' -bench=. -benchtime=3s .
