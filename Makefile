# Two commands do all the set-up on a fresh machine that has Python >= 3.10 and make:
#   make run    the main job: a short matrix-game benchmark (the project's setting, step-explore --preset entropy,
#               beside MAPPO, IPPO and seq-ppo with the same preset), into a new folder runs/quick-<date-time>/
#   make test   lint and type checks, the test suite (main environment, with coverage; then the interop
#               environment) and the wheel as users install it
# Other targets: make lint, make docs, make wheel-test, make bench, make demo, make clean.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# RLlib pins an older gymnasium than the rest of the project, so the interop tests
# (RLlib, TorchRL, Tianshou) get an environment of their own.
VENV_INTEROP  ?= .venv-interop
PY_INTEROP    := $(VENV_INTEROP)/bin/python
STAMP_INTEROP := $(VENV_INTEROP)/.installed

# pip prints only errors (-qq): this machine's pip configuration and setuptools' editable-install notice
# otherwise fill the screen with warnings that need no action.
PIP_QUIET := --quiet --quiet --disable-pip-version-check --progress-bar off

.PHONY: install run demo test lint docs test-main test-interop wheel-test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip
	$(PY) -m pip install $(PIP_QUIET) -c constraints.txt -e ".[all]"
	tools/offscreen-gl $(PY)
	touch $(STAMP)

$(STAMP_INTEROP): pyproject.toml constraints.txt requirements/interop.txt
	$(PYTHON) -m venv $(VENV_INTEROP)
	$(PY_INTEROP) -m pip install $(PIP_QUIET) --upgrade pip
	$(PY_INTEROP) -m pip install $(PIP_QUIET) -c constraints.txt -e ".[mujoco,highway,agents,test]" -r requirements/interop.txt
	touch $(STAMP_INTEROP)

# `make run`: the setting the README presents for every matrix game, `step-explore --preset entropy`, beside the
# baselines with the same preset, 6 seeds x 10,000 steps on Penalty k=-100 and Mixing (48 trials; 6 seeds is the
# fewest at which 6 of 6 against 1 of 6 is a shown difference, and the report says what such intervals can show).
# It writes into a new folder each time (RUN_OUT=FOLDER picks one; a report already there is never replaced, and
# the committed results in benchmarks/results/ are left alone).
RUN_OUT ?= runs/quick-$(shell date +%Y%m%d-%H%M%S)

run: $(STAMP)
	$(PY) benchmarks/matrix_games.py --algos step-explore,mappo,seq-ppo --preset entropy \
		--games mixing --seeds 6 --out $(RUN_OUT) --name quick

demo: $(STAMP)
	$(PY) -m stmg_envs.demo

test: lint docs test-main test-interop wheel-test

# ruff (lint and format) on everything, mypy on the packages; settings in pyproject.toml.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The documentation site (MkDocs Material, mkdocs.yml): warnings are errors, then every internal link and
# image of the built site is checked. The MuJoCo task pages render a frame off-screen with EGL, else OSMesa:
# `make install` runs tools/offscreen-gl, which finds a backend that works and, on Debian/Ubuntu with root,
# installs Mesa's EGL when none does; the build prints the backend it used.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet
	$(PY) docs/check_site.py site

# Coverage of the main test run: the packages' lines and branches run by tests in this process (pool and
# Ray workers are not measured), total and per file below 100%.
test-main: $(STAMP)
	$(PY) -m pytest -m "not interop" --cov --cov-report=term

# The sdist and wheel as users get them: built, checked by twine, the wheel installed (not editable, with the
# constraints file) in a fresh environment and smoke-tested there with the repository off the path.
WHEEL_VENV ?= .venv-wheel
wheel-test: $(STAMP)
	rm -rf dist $(WHEEL_VENV)
	$(PY) -m build --sdist --wheel --outdir dist . > dist-build.log 2>&1 || (cat dist-build.log; exit 1)
	rm -f dist-build.log
	$(PY) -m twine check --strict dist/*
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install $(PIP_QUIET) -c constraints.txt "$$(ls dist/*.whl)[mujoco,highway,agents,bench]"
	cd "$$(mktemp -d)" && $(CURDIR)/$(WHEEL_VENV)/bin/python -P $(CURDIR)/tests/smoke/wheel_smoke.py

test-interop: $(STAMP_INTEROP)
	$(PY_INTEROP) -m pytest tests/interop

bench: $(STAMP)
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) $(VENV_INTEROP) $(WHEEL_VENV) dist .pytest_cache .hypothesis .mypy_cache .ruff_cache .coverage
