"""The on-disk format of the baselines: one zip with ``meta.json`` and payload files.

Examples:
    >>> import io
    >>> from stmg_agents.baselines.persistence import read_archive, write_archive
    >>> buffer = io.BytesIO()
    >>> write_archive(buffer, {"algorithm": "MAPPO"}, {"weights.pt": b"..."})
    >>> meta, payload = read_archive(buffer)
    >>> meta["algorithm"], sorted(payload)
    ('MAPPO', ['weights.pt'])
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from typing import IO, Any

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "PathOrFile", "write_archive", "read_archive"]

FORMAT_NAME = "stmg_agents.baselines"
FORMAT_VERSION = 1

PathOrFile = str | os.PathLike | IO[bytes]


def write_archive(path: PathOrFile, meta: Mapping[str, Any], payload: Mapping[str, bytes]) -> None:
    """Write ``meta`` (JSON) and the ``payload`` files into one zip.

    Args:
        path: Destination path or binary file object.
        meta: JSON-serialisable description; the format name and version are added.
        payload: File name to bytes.
    """
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", json.dumps(header, indent=2, sort_keys=True))
        for name, data in payload.items():
            archive.writestr(name, data)


def read_archive(path: PathOrFile) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read a zip written by :func:`write_archive`.

    Args:
        path: Source path or binary file object.

    Returns:
        ``(meta, payload)``.

    Raises:
        ValueError: If the file is not a baselines archive (not a zip, no ``meta.json``, a damaged one) or has a
            newer format version.
    """
    try:
        with zipfile.ZipFile(path, "r") as archive:
            names = archive.namelist()
            if "meta.json" not in names:
                raise ValueError(f"expected a {FORMAT_NAME} archive with meta.json, got a zip holding {names}.")
            meta = json.loads(archive.read("meta.json"))
            payload = {name: archive.read(name) for name in names if name != "meta.json"}
    except zipfile.BadZipFile as exc:
        raise ValueError(f"expected a {FORMAT_NAME} zip archive at {path!r}, got an unreadable file: {exc}.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"expected a {FORMAT_NAME} archive at {path!r}, got a damaged meta.json: {exc}.") from None
    if not isinstance(meta, dict):
        raise ValueError(
            f"expected a {FORMAT_NAME} archive at {path!r}, got a meta.json holding {type(meta).__name__}."
        )
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"expected format {FORMAT_NAME!r}, got {meta.get('format')!r}.")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"expected format version <= {FORMAT_VERSION}, got {meta['format_version']}; upgrade stmg-envs."
        )
    return meta, payload
