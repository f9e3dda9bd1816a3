"""A trial of a sweep: one call of a function, named by import path, with JSON keyword arguments.

Trials name their function by ``"package.module:function"`` rather than holding
it, so that any worker (another process, another machine of a Ray cluster) can
import it, and so that the function name can be stored in the trial's record.

Examples:
    >>> from stmg_bench.sweep import Trial
    >>> trial = Trial(key="mean_seed=0", fn="statistics:mean", kwargs={"data": (1, 2, 3)})
    >>> trial.kwargs  # stored in its JSON form: tuples become lists
    {'data': [1, 2, 3]}
    >>> resolve_function(trial.fn)(**trial.kwargs)
    2
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Trial", "resolve_function", "to_json_text", "json_round_trip"]

#: A record's file name is ``<key>.json``: keys start with a letter or digit (never ``.``, which
#: marks temporary files) and use only characters that are safe in file names on every OS.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+,-]{0,199}")
_IDENTIFIERS = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_FN_PATTERN = re.compile(rf"{_IDENTIFIERS}:{_IDENTIFIERS}")


def _json_default(value: Any) -> Any:
    """Convert the non-JSON values trials commonly hold: NumPy/PyTorch values and dataclasses."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, torch tensors
    if callable(tolist):
        return tolist()
    raise TypeError(
        f"expected JSON values (dict with str keys, list, tuple, str, int, float, bool, None; NumPy values "
        f"and dataclasses are converted), got {type(value).__module__}.{type(value).__qualname__}: {value!r}"
    )


def to_json_text(value: Any, *, indent: int | None = None) -> str:
    """Serialise ``value`` to JSON text, converting NumPy values and dataclasses.

    Raises:
        TypeError: ``value`` holds something JSON cannot represent; the message names it.
    """
    return json.dumps(value, indent=indent, default=_json_default, allow_nan=True)


def json_round_trip(value: Any) -> Any:
    """``value`` as it reads back from JSON: tuples become lists, NumPy scalars Python numbers."""
    return json.loads(to_json_text(value))


def resolve_function(fn: str) -> Callable[..., Any]:
    """Import and return the callable named ``"package.module:attribute"``.

    Raises:
        ValueError: ``fn`` is malformed, its module cannot be imported or it has no such callable.
    """
    if not isinstance(fn, str) or not _FN_PATTERN.fullmatch(fn):
        raise ValueError(f"expected fn as 'package.module:function', got {fn!r}")
    module_name, _, attribute = fn.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"trial function {fn!r}: cannot import module {module_name!r} ({exc}); the module must be "
            f"importable by name in every worker (installed, or on sys.path / PYTHONPATH)"
        ) from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"trial function {fn!r}: module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise ValueError(f"trial function {fn!r}: expected a callable, got {type(target).__name__}")
    return target


@dataclass(frozen=True)
class Trial:
    """One unit of work of a sweep; its outcome is stored as ``<results_dir>/<key>.json``.

    Attributes:
        key: Unique name of the trial within its sweep, also its record's file name:
            1 to 200 characters from ``A-Z a-z 0-9 . _ = + , -``, not starting with ``.``
            (e.g. ``"penalty_k=-100_step_seed=3"``).
        fn: The function to call, as ``"package.module:function"``. Workers import it by that
            name, so it must live in an importable module (not in a script run as ``__main__``).
        kwargs: Keyword arguments of ``fn``. They must be JSON-serialisable; they are stored in
            the trial's record and ``fn`` receives them in their JSON form (tuples become lists),
            exactly as a resumed sweep would read them back. Treat them as read-only.
        fingerprint: What produces the result beyond ``kwargs`` (code version, algorithm settings; see
            :mod:`stmg_bench.provenance`), JSON-serialisable. A resumed sweep reruns a trial whose
            record has another fingerprint instead of reusing it.

    Examples:
        >>> Trial(key="seed=0", fn="statistics:mean", kwargs={"data": [1, 2]}).key
        'seed=0'
        >>> Trial(key="a/b", fn="statistics:mean")
        Traceback (most recent call last):
        ...
        ValueError: Trial key expected 1-200 characters from A-Z a-z 0-9 . _ = + , - (not starting with '.'), got 'a/b'
    """

    key: str
    fn: str
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)
    fingerprint: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY_PATTERN.fullmatch(self.key):
            raise ValueError(
                "Trial key expected 1-200 characters from A-Z a-z 0-9 . _ = + , - (not starting with '.'), "
                f"got {self.key!r}"
            )
        if not isinstance(self.fn, str) or not _FN_PATTERN.fullmatch(self.fn):
            raise ValueError(f"Trial {self.key!r}: expected fn as 'package.module:function', got {self.fn!r}")
        if self.fn.partition(":")[0] == "__main__":
            raise ValueError(
                f"Trial {self.key!r}: expected fn in an importable module, got {self.fn!r}; workers import "
                "the function by name and cannot import a script's __main__. Move the function into a module "
                "(or run the script as `python -m package.script` and name it 'package.script:function')."
            )
        if not isinstance(self.kwargs, Mapping) or not all(isinstance(name, str) for name in self.kwargs):
            raise TypeError(f"Trial {self.key!r}: expected kwargs as a mapping with str keys, got {self.kwargs!r}")
        try:
            canonical = json_round_trip(dict(self.kwargs))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Trial {self.key!r}: kwargs must be JSON-serialisable: {exc}") from None
        object.__setattr__(self, "kwargs", canonical)
        try:
            object.__setattr__(self, "fingerprint", json_round_trip(dict(self.fingerprint)))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Trial {self.key!r}: fingerprint must be JSON-serialisable: {exc}") from None
