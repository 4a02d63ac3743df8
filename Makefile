# Slotbook — developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

# KUBEBUILDER_ASSETS points envtest at kube-apiserver and etcd built from source by
# hack/envtest-binaries.sh (cached, so only the first run builds). Users with internet access
# may instead set KUBEBUILDER_ASSETS themselves, e.g. from setup-envtest.
ENVTEST_ASSETS ?= $(shell hack/envtest-binaries.sh --print-dir)
BENCH_TENANTS ?= 200

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Regenerate deepcopy code.
	go tool controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: ## Regenerate CRDs and RBAC under config/ (and their copies in charts/).
	go tool controller-gen crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	go tool controller-gen rbac:roleName=manager-role paths=./controllers/... output:rbac:artifacts:config=config/rbac
	$(MAKE) --no-print-directory chart-sync

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build
build: ## Build bin/manager (the operator) and bin/slotbook (the booking app).
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/manager ./cmd/manager
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/slotbook ./app

# Images (docs/development.md, "Images"): built by hack/images with go-containerregistry, without a
# Docker daemon or a base image. IMAGE_REGISTRY=<registry>/<prefix> names them there and pushes;
# without it they are named ghcr.io/slotbook/{operator,app}:$(VERSION) and only written to
# bin/images/. Every timestamp is SOURCE_DATE_EPOCH (default: the commit time).
IMAGE_REGISTRY ?=
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)

.PHONY: images
images: ## Build the operator and app OCI images into bin/images/ (IMAGE_REGISTRY=... also pushes).
	go run ./hack/images -out bin/images -version '$(VERSION)' -platforms '$(IMAGE_PLATFORMS)' \
		-registry '$(IMAGE_REGISTRY)' -created '$(SOURCE_DATE_EPOCH)'

.PHONY: bench-images
bench-images: images ## Image sizes and start times (BENCH_IMAGES_FLAGS=-database=URL: also serve to /readyz).
	go run ./hack/images measure -out bin/images $(BENCH_IMAGES_FLAGS)

.PHONY: run-app
run-app: build ## Run the booking app alone: a local PostgreSQL, demo data, the URL printed.
	hack/run-app.sh

.PHONY: vet
vet: ## go vet all packages.
	go vet ./...

.PHONY: envtest
envtest: ## Build (once) the kube-apiserver and etcd binaries envtest uses.
	hack/envtest-binaries.sh >/dev/null

.PHONY: helm
helm: ## Build (once) the helm CLI the chart tests use (hack/helm.sh).
	hack/helm.sh >/dev/null

.PHONY: chart-sync
chart-sync: ## Copy the CRDs, the operator's ClusterRole and the alert rules from config/ into charts/slotbook-operator.
	rm -f charts/slotbook-operator/crds/*.yaml
	cp config/crd/bases/*.yaml charts/slotbook-operator/crds/
	cp config/rbac/role.yaml charts/slotbook-operator/files/manager-role.yaml
	cp config/prometheus/rules.yaml charts/slotbook-operator/files/prometheus-rules.yaml

.PHONY: chart-lint
chart-lint: helm ## helm lint the chart with default and test values.
	"$$(hack/helm.sh)" lint --strict charts/slotbook-operator
	"$$(hack/helm.sh)" lint --strict charts/slotbook-operator --values test/chart/testdata/values-custom.yaml

.PHONY: test
test: envtest helm ## Run all tests (unit, golden, envtest) — the command CI runs.
	KUBEBUILDER_ASSETS="$${KUBEBUILDER_ASSETS:-$(ENVTEST_ASSETS)}" CGO_ENABLED=0 GOFLAGS="-trimpath $(GOFLAGS)" go test ./... -count=1

.PHONY: golden
golden: ## Rewrite golden files from the current builders (review the diff!).
	go test ./internal/resources/... -update

.PHONY: bench-operator
bench-operator: envtest ## Benchmark the operator against envtest (BENCH_TENANTS=1000 for more).
	KUBEBUILDER_ASSETS="$${KUBEBUILDER_ASSETS:-$(ENVTEST_ASSETS)}" go test ./controllers/bench/ -run '^$$' -bench BenchmarkReconcileTenants -benchtime 1x -timeout 60m -tenants $(BENCH_TENANTS) -v

.PHONY: run
run: ## Run the operator against the current kubeconfig.
	go run ./cmd/manager

.PHONY: bench-app
bench-app: ## Benchmark the booking app against PostgreSQL (pgbench ceiling, booking TPS, contention, availability latency, RSS).
	go test ./app/bench/ -run '^$$' -bench BenchmarkApp -benchtime 1x -timeout 15m -v $(BENCH_APP_FLAGS)

# Local cluster (docs/development.md, "Local cluster"): a real single-node Kubernetes built from the
# Go module proxy and Debian packages (hack/cluster/). State in bin/cluster/, builds cached in
# ~/.cache/slotbook/cluster/. The admin kubeconfig is bin/cluster/kubeconfig.
.PHONY: cluster-binaries
cluster-binaries: ## Build (once) the local cluster's binaries and images (cached by version).
	hack/cluster/build.sh all

.PHONY: cluster-up
cluster-up: ## Start the local single-node cluster and wait until it is ready (idempotent).
	hack/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and remove what it made (CLUSTER_WIPE=1: also certificates and images).
	hack/cluster/down.sh $(if $(filter 1,$(CLUSTER_WIPE)),--wipe)

.PHONY: demo
demo: ## Slotbook on a real local cluster: cluster, CNPG, cert-manager, S3, Traefik, operator, a demo tenant; prints URL/CONNECT/CACERT.
	$(MAKE) images IMAGE_PLATFORMS=linux/$(shell go env GOARCH)
	hack/demo/up.sh

.PHONY: test-e2e
test-e2e: ## End-to-end suite on the local cluster (two tenants; isolation, TLS, backups, restore, failover, chaos); last line "N passed, N failed".
	$(MAKE) images IMAGE_PLATFORMS=linux/$(shell go env GOARCH)
	hack/e2e/run.sh

.PHONY: demo-screenshot
demo-screenshot: ## Screenshots of the demo booking pages through the ingress (headless Chromium) into docs/images/.
	hack/demo/screenshot.sh

.PHONY: cluster-smoke
cluster-smoke: cluster-up ## Smoke-test the local cluster (pods, DNS, logs/exec, NetworkPolicy, the app image if built).
	hack/cluster/smoke.sh
