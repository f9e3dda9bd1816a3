"""The algorithm registry: names map to classes, import specs resolve (also from a file), and bad specs say why."""

from __future__ import annotations

import sys
import textwrap

import pytest

from stmg_bench.contract import ContractError
from stmg_bench.registry import (
    RegistryEntry,
    ResolvedAlgorithm,
    UnknownAlgorithmError,
    register,
    registered,
    resolve,
)


def test_every_registered_name_resolves_to_a_class_of_the_contract():
    """Each built-in name resolves, declares a valid form, and is labelled by its own name."""
    names = registered()
    assert {"step", "mappo", "ippo"} <= set(names)
    for name in names:
        algo = resolve(name)
        assert algo.name == name and algo.form in ("sequential", "simultaneous")


def test_importing_the_harness_and_resolving_a_torch_free_class_loads_no_torch():
    """The contract and registry stay importable without torch: importing the harness, listing the registered names
    and resolving a class that needs no torch import none (a built-in class imports it when it is resolved)."""
    import subprocess
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "tabular_learner.py"
    code = (
        "import sys, stmg_bench; stmg_bench.registered(); "
        f"stmg_bench.resolve({str(example) + ':SequentialQ'!r}); print('torch' in sys.modules)"
    )
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
        ("stmg_bench.registry:NoSuchClass", "has no attribute 'NoSuchClass'"),
        ("/nonexistent/algo.py:Algo", "no file"),
        (
            "stmg_bench.builtins:STEPAlgorithm",
            r"'stmg_bench.builtins:STEPAlgorithm' was removed; use stmg_agents.step.algorithm:STEP instead",
        ),
        ("stmg_bench.builtins:STEPExploreAlgorithm", "was removed; use the registered name 'step-explore' instead"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    """An unknown name, an unimportable module, a missing attribute or file: UnknownAlgorithmError with the cause;
    a removed built-in target names what replaced it."""
    with pytest.raises(UnknownAlgorithmError, match=message):
        resolve(spec)


def test_a_spec_that_resolves_to_something_off_contract_is_a_contract_error():
    """A resolvable spec whose target is not an algorithm is refused by the checker, not at training time."""
    with pytest.raises(ContractError, match="has no `form` attribute"):
        resolve("collections:OrderedDict")


def test_register_adds_a_name_and_refuses_to_silently_replace_one():
    """register() maps a new name; re-registering a taken name needs overwrite=True (the same entry again is fine);
    a name without overrides is labelled by its class's name, as an import spec is."""
    register("mappo-copy", "stmg_agents.baselines.mappo:MAPPO")
    try:
        register("mappo-copy", "stmg_agents.baselines.mappo:MAPPO")
        assert resolve("mappo-copy").form == "simultaneous" and resolve("mappo-copy").name == "mappo"
        assert registered()["mappo-copy"] == RegistryEntry("stmg_agents.baselines.mappo:MAPPO")
        with pytest.raises(ValueError, match="registered already"):
            register("mappo-copy", "stmg_agents.baselines.ippo:IPPO")
        with pytest.raises(ValueError, match="registered already"):
            register("mappo-copy", "stmg_agents.baselines.mappo:MAPPO", {"gamma": 0.5})
        with pytest.raises(ValueError, match="expected target as 'package.module:Attribute'"):
            register("other", "not a spec")
        with pytest.raises(ValueError, match="expected overrides as a mapping"):
            register("other", "stmg_agents.baselines.mappo:MAPPO", [("gamma", 0.5)])  # type: ignore[arg-type]
    finally:
        from stmg_bench import registry

        registry._REGISTRY.pop("mappo-copy", None)


def test_a_variant_is_its_class_plus_overrides_labelled_by_its_name():
    """A registered variant resolves to its class with its overrides, is labelled by its registered name, carries
    the overrides to workers (JSON), and is built with them under the user's settings, which win."""
    algo = resolve("step-explore")
    assert (algo.name, algo.target) == ("step-explore", "stmg_agents.step.algorithm:STEP")
    assert dict(algo.overrides) == {"leader_start": 0.5, "leader_explore": 0.25}
    again = ResolvedAlgorithm.from_json(algo.to_json())
    assert again == algo and hash(again) == hash(algo) and dict(again.overrides) == dict(algo.overrides)
    assert algo.settings({"leader_explore": 0.5, "beta": 0.0}) == {
        "leader_start": 0.5,
        "leader_explore": 0.5,
        "beta": 0.0,
    }
    assert resolve("step").overrides == {} and resolve("step").settings({"beta": 0.0}) == {"beta": 0.0}
    with pytest.raises(TypeError):
        algo.overrides["beta"] = 0.0  # type: ignore[index]
    old_record = {k: v for k, v in resolve("mappo").to_json().items() if k != "overrides"}
    assert ResolvedAlgorithm.from_json(old_record) == resolve("mappo")  # records written before overrides existed


def test_register_with_overrides_makes_a_variant_and_resolve_checks_the_merged_settings(tmp_path, monkeypatch):
    """register(name, target, overrides) is a variant of any class: built with the overrides, labelled by its name;
    resolve(..., hyperparameters=...) checks the overrides and the user's settings together against the class."""
    from stmg_bench import registry

    (tmp_path / "variant_algos.py").write_text(
        textwrap.dedent("""
        class Plain:
            form = "simultaneous"
            name = "plain"
            def __init__(self, make_env, seed, action=0):
                self.action = action
            def learn(self, total_timesteps, callback=None): return self
            def act(self, agent, observation): return self.action
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    register("plain-two", "variant_algos:Plain", {"action": 2}, doc="Plain playing 2.")
    register("plain-bad", "variant_algos:Plain", {"lr": 0.1})
    try:
        algo = resolve("plain-two", hyperparameters={})
        assert algo.name == "plain-two" and algo.build(lambda: None, seed=0).action == 2
        assert algo.build(lambda: None, seed=0, action=1).action == 1
        assert registered()["plain-two"].doc == "Plain playing 2."
        with pytest.raises(ContractError, match=r"does not take the hyperparameter\(s\) \['lr'\]"):
            resolve("plain-bad", hyperparameters={})
        with pytest.raises(ContractError, match=r"does not take the hyperparameter\(s\) \['gamma'\]"):
            resolve("plain-two", hyperparameters={"gamma": 0.5})
    finally:
        registry._REGISTRY.pop("plain-two", None)
        registry._REGISTRY.pop("plain-bad", None)


def test_a_suites_settings_for_a_name_are_data_of_its_entry():
    """The control suite's setting for STEP (its hypernetwork scaled by width) is the registry's data, for that
    name alone: the variants keep their own overrides there."""
    from stmg_bench.registry import suite_settings

    assert suite_settings("control") == {"step": {"hyper_scale_by_width": True}}
    assert suite_settings("no-such-suite") == {}
    assert resolve("step").overrides == {}  # a suite's setting is not an override: the matrix suite never sees it


def test_records_made_before_variants_were_entries_still_count_as_the_same_trials(tmp_path):
    """A saved record whose algorithm is a removed variant class (``STEPExploreAlgorithm``: its entry's class and
    overrides), a removed adapter (``STEPAlgorithm``, ``SeqPPOAlgorithm``, ``MAPPOAlgorithm``, ``IPPOAlgorithm``: the
    class itself, the record's own overrides kept, so a ``step-explore`` record naming ``STEPAlgorithm`` stays
    ``step-explore``), or a non-variant's record without ``overrides``, is recognised by a re-rendered
    (``saved_only``) or resumed sweep: no RecordError."""
    from stmg_bench.registry import LEGACY_TARGETS, RENAMED_TARGETS, canonical_json, load_object
    from stmg_bench.sweep import Trial, run_sweep
    from stmg_bench.sweep.records import write_record

    def old(name, target, **changes):
        return {**resolve(name).to_json(), "target": target, **changes}

    adapter = "stmg_bench.builtins:STEPAlgorithm"
    legacy = {  # trial key -> (the name it is today, the algorithm as the old record holds it)
        "step-explore": ("step-explore", old("step-explore", "stmg_bench.builtins:STEPExploreAlgorithm")),
        "step-explore-adapter": ("step-explore", old("step-explore", adapter)),
        "step-adapter": ("step", old("step", adapter)),
        "seq-ppo-adapter": ("seq-ppo", old("seq-ppo", "stmg_bench.builtins:SeqPPOAlgorithm")),
        "mappo": ("mappo", resolve("mappo").to_json()),
        "mappo-adapter": ("mappo", old("mappo", "stmg_bench.builtins:MAPPOAlgorithm")),
        "ippo-adapter": ("ippo", old("ippo", "stmg_bench.builtins:IPPOAlgorithm")),
    }
    del legacy["step-explore"][1]["overrides"]
    assert legacy["step-explore-adapter"][1]["overrides"] == {"leader_start": 0.5, "leader_explore": 0.25}
    assert "overrides" not in legacy["mappo"][1] and "overrides" not in legacy["step-adapter"][1]
    assert set(LEGACY_TARGETS.values()) <= set(registered())
    assert not set(LEGACY_TARGETS) & set(RENAMED_TARGETS)
    for target in RENAMED_TARGETS.values():  # each names a class of the contract that exists today
        assert callable(load_object(target).learn)
    for name, record in legacy.values():
        assert canonical_json(record) == resolve(name).to_json()
    # a record's own overrides survive an adapter's renaming (a variant registered by a user, say)
    mine = old("step", adapter, overrides={"beta": 0.0})
    assert canonical_json(mine) == {**resolve("step").to_json(), "overrides": {"beta": 0.0}}
    trials = []
    for key, (name, record) in legacy.items():
        kwargs = {"algorithm": resolve(name).to_json(), "seed": 0}
        trials.append(Trial(key=key, fn="builtins:len", kwargs=kwargs))
        write_record(
            tmp_path, {"key": key, "fn": "builtins:len", "kwargs": {"algorithm": record, "seed": 0}, "result": 1}
        )
    records = run_sweep(trials, tmp_path, workers=1, saved_only=True, progress=False)
    assert [r["result"] for r in records] == [1] * len(legacy)
