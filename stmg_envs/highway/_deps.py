"""Import of the optional ``highway-env`` dependency, with an actionable error.

The highway tasks are the only part of stmg-envs that needs ``highway-env``
(and through it ``pygame`` and ``pandas``). Modules that build on it call
:func:`require_highway_env` first, so that a missing extra fails with one
clear message instead of a bare ``ModuleNotFoundError`` deep in an import.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["INSTALL_HINT", "require_highway_env"]

#: How to get the optional dependency.
INSTALL_HINT = "pip install 'stmg-envs[highway]'"


def require_highway_env() -> ModuleType:
    """Import and return ``highway_env``.

    Raises:
        ImportError: ``highway-env`` is not installed; the message says how to install it.

    Examples:
        >>> require_highway_env().__name__
        'highway_env'
    """
    try:
        import highway_env
    except ImportError as exc:
        raise ImportError(
            f"the stmg highway tasks need the optional dependency highway-env, which could not be "
            f"imported ({exc}). Install it with: {INSTALL_HINT}"
        ) from exc
    return highway_env
