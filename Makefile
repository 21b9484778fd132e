# custody: `make demo` and `make test` are all a newcomer needs.
SHELL      := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := /usr/local/go/bin:$(PATH)

GO         ?= go
BIN        := bin/custody
SHARED     ?= $(abspath $(CURDIR)/../shared)
export CUSTODY_SHARED := $(SHARED)
export CUSTODY_MODELS ?= $(SHARED)/models
DEMO_DIR   ?= $(CURDIR)/.cache/demo

# Debian packages custody needs to build (OpenCV, pkg-config, gcc) and that
# its tests use for real interop (ffmpeg, stock age, ssh-keygen).
APT_PKGS := libopencv-dev opencv-data ffmpeg age openssh-client pkg-config gcc g++

.PHONY: all deps build build-static test test-short bench eval fuzz demo clean

all: build

## deps: install missing Debian packages (idempotent; quick when nothing is missing)
deps:
	@missing=""; \
	for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(GO) >/dev/null || { echo "make deps: Go is not installed (need Go 1.26 at /usr/local/go)"; exit 2; }

## build: bin/custody, the full build with OpenCV
build: deps
	$(GO) build -o $(BIN) ./cmd/custody

## build-static: bin/custody-static, CGO_ENABLED=0: seal, manifest, verify, no OpenCV
build-static:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/custody-static ./cmd/custody

## test: every test, including the static build and the Mat leak check
test: deps
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./seal/... ./manifest/... ./verify/... ./store/... ./cmd/...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/custody
	$(GO) test -count=1 -timeout 40m ./...
	$(GO) test -count=1 -tags matprofile -run 'Leak|MatProfile' ./detect/... ./redact/...

## bench: speed and memory targets, each measured beside its baseline in the same run
bench: deps
	$(GO) test -run '^$$' -bench 'Import' -benchtime 1x -timeout 30m ./cmd/custody

## fuzz: run each fuzzer for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	@for pkg in ./manifest ./seal ./verify ./store; do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## demo: build, then import, seal, open and verify real sample footage
demo: build
	@rm -rf "$(DEMO_DIR)"; mkdir -p "$(DEMO_DIR)"
	@echo "== a key for the data protection officer (age X25519)"
	age-keygen -o "$(DEMO_DIR)/dpo.key" 2>&1
	@echo "== create a store (the station key passphrase comes from CUSTODY_PASSPHRASE here)"
	CUSTODY_PASSPHRASE=demo-passphrase $(BIN) init --store "$(DEMO_DIR)/store" --recipient "$$(age-keygen -y $(DEMO_DIR)/dpo.key)" --actor demo
	@echo "== import two real body-worn / wearable clips in one streaming pass each"
	CUSTODY_PASSPHRASE=demo-passphrase $(BIN) import --store "$(DEMO_DIR)/store" --actor demo --device BWC-0042 --wearer "Nurse A" --location "ED triage" "$(SHARED)/data/video/gen1_demo_assets_test_video.mp4" "$(SHARED)/data/video/gen2_demo_assets_test_face_video.mp4"
	$(BIN) list --store "$(DEMO_DIR)/store"
	@id=$$($(BIN) list --store "$(DEMO_DIR)/store" --json | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p' | head -1); \
	echo "== open clip $$id with the DPO's key (hash checked, access logged)"; \
	CUSTODY_PASSPHRASE=demo-passphrase $(BIN) open --store "$(DEMO_DIR)/store" --actor demo "$$id" -i "$(DEMO_DIR)/dpo.key" -o "$(DEMO_DIR)/opened.mp4" --reason "demo: subject access request"; \
	echo "== stock age opens the sealed file too"; \
	age -d -i "$(DEMO_DIR)/dpo.key" "$(DEMO_DIR)/store/objects/$$id.age" | cmp - "$(DEMO_DIR)/opened.mp4" && echo "age -d output is identical"; \
	$(BIN) show --store "$(DEMO_DIR)/store" "$$id"
	@echo "== verify the store with no private key"
	$(BIN) verify --store "$(DEMO_DIR)/store"
	@echo "demo finished: everything is in $(DEMO_DIR)"

clean:
	rm -rf bin .cache
