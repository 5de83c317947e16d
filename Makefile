# Pingan Hub developer targets. `make help` lists them.
.PHONY: help fmt lint test test-short fuzz e2e build ci

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go')

lint: ## go vet and a gofmt check
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

test: ## the whole suite with the race detector (set PINGAN_TEST_REDIS for the Redis runs)
	go test -race ./...

test-short: ## the quick tests
	go test -short ./...

fuzz: ## a short run of every fuzz target
	@for pkg in $$(go list ./...); do dir=$$(go list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do \
	    go test -run '^$$' -fuzz "^$$t\$$" -fuzztime 10s $$pkg || exit 1; done; done

e2e: ## end-to-end tests (Chromium, ffmpeg, sipp, Redis)
	go test -race -count=1 ./internal/e2e ./cmd/pingan

build: ## build the binary for linux/amd64 and linux/arm64
	GOOS=linux GOARCH=amd64 go build -o bin/pingan-linux-amd64 ./cmd/pingan
	GOOS=linux GOARCH=arm64 go build -o bin/pingan-linux-arm64 ./cmd/pingan

ci: ## what CI runs
	bash .ci/run
