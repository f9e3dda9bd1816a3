"""Trial validation and function resolution (stmg_bench/sweep/trial.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from stmg_bench.sweep import Trial
from stmg_bench.sweep.trial import resolve_function, to_json_text


def test_kwargs_are_stored_in_their_json_form():
    """The function receives what a resumed sweep reads back from a record: tuples as lists, NumPy as Python."""
    trial = Trial(key="a", fn="statistics:mean", kwargs={"data": (1, 2), "scale": np.float32(0.5)})
    assert trial.kwargs == {"data": [1, 2], "scale": 0.5}
    assert type(trial.kwargs["scale"]) is float


def test_kwargs_are_copied():
    """Mutating the caller's dict after construction does not change the trial."""
    kwargs = {"data": [1, 2]}
    trial = Trial(key="a", fn="statistics:mean", kwargs=kwargs)
    kwargs["data"].append(3)
    assert trial.kwargs == {"data": [1, 2]}


def test_trial_is_frozen_hashable_and_picklable():
    """Trials can be used as dict keys and sent to worker processes."""
    trial = Trial(key="a", fn="statistics:mean", kwargs={"data": [1]})
    with pytest.raises(AttributeError):
        trial.key = "b"  # type: ignore[misc]
    assert {trial: 1}[trial] == 1
    assert pickle.loads(pickle.dumps(trial)) == trial


@pytest.mark.parametrize("key", ["", ".hidden", "a/b", "a\\b", "a b", "x" * 201, "ä", 3, None])
def test_bad_keys_are_rejected(key):
    """A key must be usable as a file name everywhere and never look like a temporary file."""
    with pytest.raises(ValueError, match="Trial key expected"):
        Trial(key=key, fn="statistics:mean")


@pytest.mark.parametrize("key", ["a", "penalty_k=-100_seed=3", "A.b+c,d", "0"])
def test_good_keys_are_accepted(key):
    """Keys with the characters benchmark names use are accepted."""
    assert Trial(key=key, fn="statistics:mean").key == key


@pytest.mark.parametrize("fn", ["statistics.mean", "statistics:", ":mean", "a b:c", "stats:1x", 3])
def test_malformed_fn_is_rejected(fn):
    """fn must be 'package.module:function'."""
    with pytest.raises(ValueError, match="expected fn as 'package.module:function'"):
        Trial(key="a", fn=fn)


def test_fn_in_main_is_rejected_with_a_fix():
    """Workers cannot import a script's __main__, so it is refused up front, with what to do instead."""
    with pytest.raises(ValueError, match="importable module.*python -m"):
        Trial(key="a", fn="__main__:train")


def test_non_json_kwargs_are_rejected():
    """kwargs are stored in the record, so they must be JSON-serialisable."""
    with pytest.raises(TypeError, match="kwargs must be JSON-serialisable.*set"):
        Trial(key="a", fn="statistics:mean", kwargs={"data": {1, 2}})
    with pytest.raises(TypeError, match="str keys"):
        Trial(key="a", fn="statistics:mean", kwargs={1: 2})  # type: ignore[dict-item]


def test_resolve_function_finds_nested_attributes():
    """'module:Class.method' resolves through attributes."""
    assert resolve_function("pathlib:Path.cwd")() is not None
    assert resolve_function("statistics:mean")([2, 4]) == 3


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
        ("statistics:no_such_function", "has no attribute 'no_such_function'"),
        ("math:pi", "expected a callable, got float"),
    ],
)
def test_resolve_function_errors_name_the_problem(fn, message):
    """A typo in fn gives an error naming the module or attribute."""
    with pytest.raises(ValueError, match=message):
        resolve_function(fn)


def test_to_json_text_converts_numpy_and_rejects_others():
    """NumPy values become JSON numbers/lists; anything else non-JSON is named in the error."""
    assert to_json_text({"a": np.arange(2), "b": np.int64(3)}) == '{"a": [0, 1], "b": 3}'
    with pytest.raises(TypeError, match="builtins.object"):
        to_json_text({"a": object()})
