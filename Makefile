# KnoxCall (self-hosted). `make run` sets up and opens the product; `make test` runs every test.
.PHONY: run setup build release test lint swift-test interop contract openapi clean

run: setup release
	.build/release/knoxcall

setup:
	scripts/setup.sh

build:
	swift build $(IMPORT_CHECK)

release:
	scripts/release-build.sh --product knoxcall

# Every suite leaves what it saw and left behind in $(CAPTURES) for the leak scan that ends the run.
CAPTURES := $(CURDIR)/.build/captures

test: setup lint
	swift build --build-tests $(IMPORT_CHECK)
	rm -rf $(CAPTURES)
	KNOXCALL_CAPTURE_DIR=$(CAPTURES) swift test --skip-build
	KNOXCALL_CAPTURE_DIR=$(CAPTURES) scripts/interop.sh
	KNOXCALL_CAPTURE_DIR=$(CAPTURES) scripts/schemathesis.sh
	python3 scripts/leak-scan.py $(CAPTURES) --min-files 2000 --min-values 300
	scripts/fuzz.sh 20 http-request http-response json template cidr path signature config theme

# A target may import only the targets it declares (docs/ARCHITECTURE.md): KnoxProxy cannot reach the engine or the
# store even when they happen to be built.
IMPORT_CHECK := --explicit-target-dependency-import-check error

# House style (.swift-format), checked in make test: swift format -i -r $(FORMATTED) fixes what it reports.
FORMATTED := Sources Tests fuzz bench Package.swift
lint:
	swift format lint --strict -r $(FORMATTED)

swift-test:
	swift build --build-tests $(IMPORT_CHECK)
	swift test --skip-build

interop:
	scripts/interop.sh

contract:
	scripts/schemathesis.sh

# Regenerates the committed OpenAPI document (a test fails when it is stale).
openapi: build
	.build/debug/knoxcall openapi > openapi.json

clean:
	rm -rf .build .venv-interop
