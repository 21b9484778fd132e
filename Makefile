# custody: `make demo` and `make test` are all a newcomer needs.
SHELL      := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := /usr/local/go/bin:$(PATH)

GO         ?= go
BIN        := bin/custody
SHARED     ?= $(abspath $(CURDIR)/../shared)
export CUSTODY_SHARED := $(SHARED)
DEMO_DIR   ?= $(CURDIR)/.cache/demo
# What `custody version` says: the source revision (go's own VCS stamp is
# off wherever GOFLAGS has -buildvcs=false).
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
LDFLAGS    := -X github.com/custody-evidence/custody/cmd/custody/internal/cli.stampedVersion=$(VERSION)

# Debian packages custody needs to build (OpenCV, pkg-config, gcc) and that
# its tests use for real interop (ffmpeg, stock age, ssh-keygen, Info-ZIP zip).
APT_PKGS := libopencv-dev opencv-data ffmpeg age openssh-client pkg-config gcc g++ lld strace time zip

# Link only the OpenCV modules custody calls. gocv wraps every module
# (highgui pulls in Qt, videoio GStreamer, imgcodecs GDAL and Poppler: some
# 230 libraries), and loading them cost every command, `import` included,
# 65 MiB of memory at start-up. With function sections, lld's
# --gc-sections drops the wrappers nothing calls and --as-needed then drops
# their libraries; GNU ld keeps the libraries, so lld it is.
export CGO_CFLAGS   ?= -O2 -g -ffunction-sections -fdata-sections
export CGO_CXXFLAGS ?= -O2 -g -ffunction-sections -fdata-sections
export CGO_LDFLAGS  ?= -fuse-ld=lld -Wl,--gc-sections -Wl,--as-needed

.PHONY: all deps models build build-static dist test bench eval eval-quick eval-all fuzz demo clean

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

## models: copy the models the defaults need (detect.KnownModels marked Embed) and their
## licences from $(SHARED)/models into detect/internal/embedded (git-ignored), checking
## each sha256, so that every full build carries them; `custody version` lists them
models:
	@CGO_ENABLED=0 $(GO) run ./detect/internal/embedmodels -from "$(SHARED)/models" -to detect/internal/embedded

## build: bin/custody, the full build with OpenCV and the models built in
build: deps models
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/custody

## build-static: bin/custody-static, CGO_ENABLED=0: seal, manifest, verify, no OpenCV, no models
build-static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/custody-static ./cmd/custody

## dist: static binaries for the machines bundles are verified on, with SHA256SUMS
DIST_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
dist:
	@mkdir -p dist; rm -f dist/custody-*
	@for t in $(DIST_TARGETS); do \
	  os=$${t%/*}; arch=$${t#*/}; ext=""; [ "$$os" = windows ] && ext=.exe; \
	  echo "dist/custody-$$os-$$arch$$ext"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o dist/custody-$$os-$$arch$$ext ./cmd/custody; \
	done
	cd dist && sha256sum custody-* > SHA256SUMS

## test: every test, including the static build and the Mat leak check; the tests insist
## that the full build carries its models (CUSTODY_TEST_BUILT_IN_MODELS)
test: export CUSTODY_TEST_BUILT_IN_MODELS := 1
test: deps models
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./seal/... ./manifest/... ./witness/... ./verify/... ./store/... ./bundle/... ./media/... ./cmd/...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/custody
	@# The verifier must at least build where police liaisons run it.
	for t in $(DIST_TARGETS); do CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/custody; done
	$(GO) test -count=1 -timeout 40m ./...
	$(GO) test -count=1 -timeout 30m -tags matprofile -run 'Leak|MatProfile' ./detect/... ./redact/...

## bench: speed and memory targets, each measured beside its baseline in the same run
bench: deps models
	$(GO) test -run '^$$' -bench 'Import|VerifyBundle|Redact' -benchtime 1x -timeout 60m ./cmd/custody

## eval: the redaction benchmark (internal/evalset/README.md): faces (the labelled dlib photos and
## hard variants: small, turned, dark, blurred, JPEG, seen from above), worn staff cards and the
## shared clips, each table with the defaults beside a plain YuNet 2022mar reference; the check that
## the defaults row is what `custody detect --json` reports; then detect's per-model tables.
## Data is generated into .cache/eval on first use (about 5 minutes). EVALFLAGS adds flags:
##   make eval EVALFLAGS=-eval.split=training                        (the tuning split)
##   make eval EVALFLAGS="-eval.row 'thorough: every=1 textevery=1 smallfaceevery=1'"
## eval-quick: the benchmark's quick development run (faces, badges, gen2's clips; a minute or two)
## eval-all: eval, then the slow old evaluations (photos enlarged 4x for every model; redaction speed
## beside an ffmpeg transcode with the old leak count)
EVALFLAGS ?=
EVALRUN    = $(GO) test ./internal/evalset/evalrun -count=1 -timeout 90m -v -eval -eval.bin "$(abspath $(BIN))"
eval: build
	@# The package goes before -eval: go test stops reading its own flags
	@# at the first one it does not know, and would take the package for a
	@# test flag.
	$(EVALRUN) -run 'TestEval$$|TestDefaultsMatchCLI' $(EVALFLAGS) | grep -v '^=== RUN'
	$(GO) test ./detect -count=1 -timeout 60m -run 'TestEval$$|TestEvalRotated' -v -eval | grep -v '^=== RUN'

eval-quick: build
	$(EVALRUN) -run 'TestEval$$' -eval.quick $(EVALFLAGS) | grep -v '^=== RUN'

eval-all: eval
	$(GO) test ./detect -count=1 -timeout 60m -run 'TestEvalLarge' -v -eval | grep -v '^=== RUN'
	$(GO) test ./redact -count=1 -timeout 60m -run 'TestEval$$' -v -eval | grep -v '^=== RUN'

## fuzz: run each fuzzer for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	@for pkg in ./manifest ./seal ./witness ./verify ./store ./bundle ./media ./redact ./internal/peercred ./cmd/custody/internal/cli; do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## demo: build, then run the main job end to end on real sample footage
DEMO_PASS := CUSTODY_PASSPHRASE=demo-passphrase CUSTODY_ACTOR="Demo DPO"
demo: build
	@rm -rf "$(DEMO_DIR)"; mkdir -p "$(DEMO_DIR)"
	@echo; echo "== 1. keys: the DPO's age key, and a police receiver's SSH key (it opens originals and signs receipts)"
	age-keygen -o "$(DEMO_DIR)/dpo.key" 2>&1
	ssh-keygen -q -t ed25519 -N '' -C "DC 1234, police" -f "$(DEMO_DIR)/police_ed25519"
	@echo; echo "== 2. create an evidence store (station key passphrase from CUSTODY_PASSPHRASE)"
	$(DEMO_PASS) $(BIN) init --store "$(DEMO_DIR)/store" --recipient "$$(age-keygen -y $(DEMO_DIR)/dpo.key)"
	@echo; echo "== 2b. a witness directory (in a real deployment on another host or mount, append-only) keeps every checkpoint"
	mkdir -p "$(DEMO_DIR)/witness"
	$(DEMO_PASS) $(BIN) witness add --store "$(DEMO_DIR)/store" nas "$(DEMO_DIR)/witness" --reason "demo: the records NAS"
	@echo; echo "== 3. import two real clips, each sealed in one streaming pass"
	$(DEMO_PASS) $(BIN) import --store "$(DEMO_DIR)/store" --device BWC-0042 --wearer "Nurse A" --location "ED triage" \
	  "$(SHARED)/data/video/gen1_demo_assets_test_video.mp4" "$(SHARED)/data/video/gen2_demo_assets_test_face_video.mp4"
	$(BIN) list --store "$(DEMO_DIR)/store"
	@st="$(DEMO_DIR)/store"; \
	id=$$($(BIN) list --store "$$st" --json | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p' | head -1); \
	echo; echo "== 4. redact clip $$id in the store: faces and badges blurred, output sealed as a derivative"; \
	$(DEMO_PASS) $(BIN) redact --store "$$st" "$$id" -i "$(DEMO_DIR)/dpo.key" --every 2 --review x --reason "release to police, incident NPT-2026-1142"; \
	echo; echo "== 5. stock age opens the sealed original too (custody open also checks the hash and logs the access)"; \
	age -d -i "$(DEMO_DIR)/dpo.key" "$$st/objects/$$id.age" | cmp - "$(SHARED)/data/video/gen1_demo_assets_test_video.mp4" && echo "age -d output is byte-identical to the original"; \
	echo; echo "== 6. export a court-ready bundle for the police, with the original re-encrypted to them"; \
	$(DEMO_PASS) $(BIN) export --store "$$st" --incident NPT-2026-1142 --exhibit-prefix JD/ -i "$(DEMO_DIR)/dpo.key" "$$id" \
	  --include-originals --to "$$(cat $(DEMO_DIR)/police_ed25519.pub)" --receiver "$(DEMO_DIR)/police_ed25519.pub" -o "$(DEMO_DIR)/NPT-2026-1142.zip" \
	  --organization "St Elsewhere NHS Trust" --contact "Demo DPO"; \
	$(BIN) key --store "$$st" -o "$(DEMO_DIR)/station.pub"; \
	$(BIN) show --store "$$st" "$$id"
	@echo; echo "== 7. the police liaison verifies the bundle offline with the static binary, pinning the station key"
	$(MAKE) --no-print-directory build-static
	bin/custody-static verify "$(DEMO_DIR)/NPT-2026-1142.zip" --key "$(DEMO_DIR)/station.pub"
	@echo; echo "== 8. verify the whole store with no private key"
	$(BIN) verify --store "$(DEMO_DIR)/store"
	@echo; echo "demo finished: the store, the bundle (open report.html inside it) and the keys are in $(DEMO_DIR)"

clean:
	rm -rf bin dist .cache
	find detect/internal/embedded -mindepth 1 ! -name doc.go -delete
