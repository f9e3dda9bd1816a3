"""The algorithm registry: names map to classes, import specs resolve (also from a file), and bad specs say why."""

from __future__ import annotations

import sys
import textwrap

import pytest

from stmg_bench.contract import ContractError
from stmg_bench.registry import ResolvedAlgorithm, UnknownAlgorithmError, register, registered, resolve


def test_every_registered_name_resolves_to_a_class_of_the_contract():
    """Each built-in name resolves, declares a valid form, and is labelled by its own name."""
    names = registered()
    assert {"step", "mappo", "ippo"} <= set(names)
    for name in names:
        algo = resolve(name)
        assert algo.name == name and algo.form in ("sequential", "simultaneous")


def test_importing_the_harness_and_resolving_builtins_loads_no_torch():
    """The contract and registry stay importable without torch (the classes import it when built)."""
    import subprocess

    code = "import sys, stmg_bench; stmg_bench.resolve('step'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_module_spec_from_the_current_folder_and_a_file_spec_resolve(tmp_path, monkeypatch):
    """'module:Class' is found in the current folder (as python -m would); 'file.py:Class' by path; both carry what
    a worker needs to import them again, and a `name` attribute labels the results."""
    (tmp_path / "my_algos.py").write_text(
        textwrap.dedent("""
        class Mine:
            form = "simultaneous"
            name = "mine"
            def __init__(self, make_env, seed): pass
            def learn(self, total_timesteps, callback=None): return self
            def act(self, agent, observation): return 0
    """)
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    algo = resolve("my_algos:Mine")
    assert (algo.name, algo.form, algo.search_path) == ("mine", "simultaneous", (str(tmp_path),))
    again = ResolvedAlgorithm.from_json(algo.to_json())
    assert again == algo and again.load().__name__ == "Mine"
    by_file = resolve(str(tmp_path / "my_algos.py") + ":Mine")
    assert by_file.target == f"{tmp_path / 'my_algos.py'}:Mine" and by_file.load().name == "mine"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("ppo", "unknown algorithm 'ppo'; expected a registered name"),
        ("no_such_module_xyz:Algo", "cannot import module 'no_such_module_xyz'"),
        ("stmg_bench.builtins:NoSuchClass", "has no attribute 'NoSuchClass'"),
        ("/nonexistent/algo.py:Algo", "no file"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    """An unknown name, an unimportable module, a missing attribute or file: UnknownAlgorithmError with the cause."""
    with pytest.raises(UnknownAlgorithmError, match=message):
        resolve(spec)


def test_a_spec_that_resolves_to_something_off_contract_is_a_contract_error():
    """A resolvable spec whose target is not an algorithm is refused by the checker, not at training time."""
    with pytest.raises(ContractError, match="has no `form` attribute"):
        resolve("collections:OrderedDict")


def test_register_adds_a_name_and_refuses_to_silently_replace_one():
    """register() maps a new name; re-registering a taken name needs overwrite=True."""
    register("mappo-copy", "stmg_bench.builtins:MAPPOAlgorithm")
    try:
        assert resolve("mappo-copy").form == "simultaneous"
        with pytest.raises(ValueError, match="registered already"):
            register("mappo-copy", "stmg_bench.builtins:IPPOAlgorithm")
        with pytest.raises(ValueError, match="expected target as 'package.module:Attribute'"):
            register("other", "not a spec")
    finally:
        from stmg_bench import registry

        registry._REGISTRY.pop("mappo-copy", None)
