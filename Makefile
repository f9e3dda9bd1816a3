# Two commands do all the set-up on a fresh machine that has Python >= 3.10 and make:
#   make run    the main job: a short matrix-game benchmark (STEP vs MAPPO vs IPPO)
#   make test   the test suite (main environment, then the interop environment)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# RLlib pins an older gymnasium than the rest of the project, so the interop tests
# (RLlib, TorchRL, Tianshou) get an environment of their own.
VENV_INTEROP  ?= .venv-interop
PY_INTEROP    := $(VENV_INTEROP)/bin/python
STAMP_INTEROP := $(VENV_INTEROP)/.installed

.PHONY: install run demo test test-main test-interop bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[all]"
	touch $(STAMP)

$(STAMP_INTEROP): pyproject.toml constraints.txt requirements/interop.txt
	$(PYTHON) -m venv $(VENV_INTEROP)
	$(PY_INTEROP) -m pip install --quiet --upgrade pip
	$(PY_INTEROP) -m pip install --quiet -c constraints.txt -e ".[mujoco,highway,agents,test]" -r requirements/interop.txt
	touch $(STAMP_INTEROP)

run: $(STAMP)
	$(PY) benchmarks/matrix_games.py --seeds 4 --games penalty:0,penalty:-100,mixing --name quick

demo: $(STAMP)
	$(PY) -m stmg_envs.demo

test: test-main test-interop

test-main: $(STAMP)
	$(PY) -m pytest -m "not interop"

test-interop: $(STAMP_INTEROP)
	$(PY_INTEROP) -m pytest tests/interop

bench: $(STAMP)
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) $(VENV_INTEROP) .pytest_cache .hypothesis
