"""``run_sweep``: run the trials that have no record yet, writing each record as it finishes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from stmg_bench.sweep.errors import RecordError, TrialsFailedError
from stmg_bench.sweep.execution import TrialOutcome
from stmg_bench.sweep.records import read_record, record_path, remove_records, write_record
from stmg_bench.sweep.trial import Trial, resolve_function


def git_commit() -> str | None:
    """The checkout's commit, recorded with each record (see :func:`stmg_bench.provenance.git_commit`)."""
    from stmg_bench.provenance import git_commit as commit

    return commit()


__all__ = ["BACKENDS", "SweepResult", "run_sweep", "run_sweep_then_report"]

#: The backends :func:`run_sweep` accepts.
BACKENDS = ("local", "ray")


class SweepResult(list):  # type: ignore[type-arg]  # list[dict[str, Any]]
    """The records of a sweep, in the order of its trials (a ``list`` of record dicts).

    Attributes:
        executed: Keys of the trials run by this call and recorded.
        reused: Keys of the trials whose records already existed.
        failed: Keys of the trials that raised (no record; only in :attr:`TrialsFailedError.records`).
        rerun: Keys of the trials whose saved record had another fingerprint and were run again.
        outdated: With ``saved_only``: keys of the reused records that carry another fingerprint
            (made by other code or settings; kept, not rerun).
        missing: With ``saved_only``: keys of the trials that have no record (not run).
        wall_s: Wall time of this call, in seconds.
    """

    def __init__(
        self,
        records: Iterable[dict[str, Any]],
        *,
        executed: tuple[str, ...],
        reused: tuple[str, ...],
        failed: tuple[str, ...] = (),
        rerun: tuple[str, ...] = (),
        outdated: tuple[str, ...] = (),
        missing: tuple[str, ...] = (),
        wall_s: float,
    ) -> None:
        super().__init__(records)
        self.rerun = rerun
        self.outdated = outdated
        self.missing = missing
        self.executed = executed
        self.reused = reused
        self.failed = failed
        self.wall_s = wall_s

    @property
    def summary(self) -> str:
        """One line: how many trials ran, were reused or failed, and the wall time."""
        failed = f", {len(self.failed)} failed" if self.failed else ""
        rerun = f" ({len(self.rerun)} of them outdated records)" if self.rerun else ""
        counts = f"{len(self) + len(self.failed)} trials: {len(self.executed)} run{rerun}, {len(self.reused)} reused"
        if self.outdated:
            counts += f" ({len(self.outdated)} of them made by other code or settings)"
        if self.missing:
            counts += f", {len(self.missing)} without a record (not run)"
        return f"{counts}{failed}, wall time {self.wall_s:.1f} s"


class _Progress:
    """A tqdm bar over the trials when tqdm is installed, else one line per finished trial."""

    def __init__(self, total: int, done: int, desc: str | None, enabled: bool) -> None:
        self.enabled = enabled
        self.done, self.total, self.desc = done, total, desc or "sweep"
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=done, desc=self.desc, unit="trial", dynamic_ncols=True)

    def update(self, outcome: TrialOutcome, failed: int) -> None:
        self.done += 1
        if self.bar is not None:
            if failed:
                self.bar.set_postfix(failed=failed, refresh=False)
            self.bar.update(1)
        elif self.enabled:
            status = "failed" if outcome.error else f"done in {outcome.record['wall_s']:.1f} s"  # type: ignore[index]
            print(f"{self.desc}: [{self.done}/{self.total}] {outcome.key} {status}", file=sys.stderr, flush=True)

    def close(self, summary: str) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.enabled:
            print(f"{self.desc}: {summary}", file=sys.stderr, flush=True)


def _check_trials(trials: Iterable[Trial]) -> list[Trial]:
    checked = list(trials)
    seen: set[str] = set()
    for trial in checked:
        if not isinstance(trial, Trial):
            raise TypeError(
                f"expected trials as stmg_bench.sweep.Trial objects, got {trial!r} ({type(trial).__name__})"
            )
        if trial.key in seen:
            raise ValueError(f"expected unique trial keys, got {trial.key!r} twice; give every trial its own key")
        seen.add(trial.key)
    return checked


def _check_options(backend: str, workers: int | None, address: str | None) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"expected backend in {BACKENDS}, got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"expected workers as a positive int or None (all cores), got {workers!r}")
    if address is not None and backend != "ray":
        raise ValueError(
            f"address is the Ray cluster to run on and needs backend='ray', got backend={backend!r} with "
            f"address={address!r}; drop the address or use --backend ray"
        )


def _outdated(trials: list[Trial], results_dir: Path) -> list[Trial]:
    """Trials whose record on disk carries another fingerprint (other code or settings made it)."""
    outdated = []
    for trial in trials:
        if record_path(results_dir, trial.key).exists():  # noqa: SIM102
            if read_record(results_dir, trial.key)["fingerprint"] != trial.fingerprint:
                outdated.append(trial)
    return outdated


def _canonical(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's arguments with an ``algorithm`` (a :meth:`ResolvedAlgorithm.to_json`) in today's form, so that a
    record written before a change of that form (variants as registry entries) still counts as the same trial."""
    from stmg_bench.registry import canonical_json

    out = dict(kwargs)
    if isinstance(out.get("algorithm"), Mapping) and "target" in out["algorithm"]:
        out["algorithm"] = canonical_json(out["algorithm"])
    return out


def _existing_records(trials: list[Trial], results_dir: Path) -> dict[str, dict[str, Any]]:
    """Records already on disk, checked to come from the same function and kwargs as the trials."""
    existing: dict[str, dict[str, Any]] = {}
    stale: list[str] = []
    for trial in trials:
        if not record_path(results_dir, trial.key).exists():
            continue
        record = read_record(results_dir, trial.key)
        if record["fn"] != trial.fn or _canonical(record["kwargs"]) != _canonical(trial.kwargs):
            stale.append(
                f"{trial.key!r}: record has fn={record['fn']!r} kwargs={record['kwargs']!r}, "
                f"trial has fn={trial.fn!r} kwargs={dict(trial.kwargs)!r}"
            )
        existing[trial.key] = record
    if stale:
        raise RecordError(
            f"{len(stale)} record(s) in {str(results_dir)!r} were made by a different function or kwargs than the "
            "trials with the same key, so reusing them would mix results of different settings. Rerun with "
            "fresh=True (--fresh) to redo the sweep, or give changed trials new keys:\n" + "\n".join(stale)
        )
    return existing


def _sibling(folder: Path, other: str | os.PathLike[str]) -> Path:
    """``other`` as a folder: a bare name is a folder next to ``folder``; anything else a path."""
    path = Path(other)
    return folder.parent / path if len(path.parts) == 1 and not path.is_absolute() else path


def run_sweep(
    trials: Iterable[Trial],
    results_dir: str | os.PathLike[str],
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    fresh: bool = False,
    saved_only: bool = False,
    saved_from: Sequence[str | os.PathLike[str]] = (),
    progress: bool = True,
    desc: str | None = None,
) -> SweepResult:
    """Run every trial that has no record yet and return the records of all trials.

    Each trial's record (see :mod:`stmg_bench.sweep.records`) is written atomically to
    ``<results_dir>/<key>.json`` the moment the trial finishes, so a sweep that is
    interrupted or crashes resumes, when called again with the same trials, where it
    stopped: trials with a record are not run again. A trial that raises gets no record;
    the others keep running and :class:`TrialsFailedError` is raised at the end, so a
    rerun retries only the failed trials.

    Args:
        trials: The trials; keys must be unique.
        results_dir: Folder of the records (created if missing). Other files in it are left alone.
        backend: ``"local"`` (a pool of processes on this machine) or ``"ray"`` (Ray tasks;
            needs ``pip install 'stmg-envs[ray]'``).
        workers: Trials run at the same time; default all cores this process may use locally
            (``os.sched_getaffinity`` where available, else ``os.cpu_count()``), all of the
            local instance's or the cluster's CPUs with ``ray``. ``workers=1`` with ``backend="local"`` runs the
            trials in this process, one after another (for debugging).
        address: With ``backend="ray"``, the Ray cluster to run on (``"auto"``,
            ``"ray://host:10001"``); ``None`` starts a local Ray instance for the sweep.
        fresh: Delete the records of these trials first and run them all again. Without it, a trial
            whose record carries another ``fingerprint`` than the trial is run again too (and said so).
        saved_only: Run nothing and delete nothing: return the saved records of the trials that have
            one, whatever their fingerprint (to render a report again without retraining, e.g. from
            records made at an earlier commit). :attr:`SweepResult.outdated` and
            :attr:`SweepResult.missing` say which records came from other code and which trials have none.
        saved_from: With ``saved_only``: more folders of records to read, in turn, for the trials that
            ``results_dir`` has no record of (a bare name is a folder next to ``results_dir``: another run
            of the same study), so that one report covers several runs. Their records must come from the
            same function and kwargs as the trials with their keys, as ``results_dir``'s must.
        progress: Show a progress bar (tqdm, when installed) and print a summary line at the end.
        desc: Label of the progress bar and summary line.

    Returns:
        The records of all trials, in the order of ``trials``; also says which trials ran
        now and the wall time (:class:`SweepResult`).

    Raises:
        TrialsFailedError: Some trials raised; the records of all others were written.
        RecordError: A record on disk is unreadable, or was made by a different function or
            kwargs than the trial with its key (rerun with ``fresh=True``).
        MissingRayError: ``backend="ray"`` without Ray installed.
        ValueError, TypeError: Bad arguments, or a trial function that cannot be imported.

    Examples:
        >>> import tempfile
        >>> from stmg_bench.sweep import Trial, run_sweep
        >>> trials = [Trial(key=f"n={n}", fn="statistics:mean", kwargs={"data": list(range(n))})
        ...           for n in (1, 3, 5)]
        >>> folder = tempfile.mkdtemp()
        >>> records = run_sweep(trials, folder, workers=1, progress=False)
        >>> [record["result"] for record in records]
        [0, 1, 2]
        >>> run_sweep(trials, folder, workers=1, progress=False).executed  # resumed: nothing left to run
        ()
    """
    start = time.perf_counter()
    checked = _check_trials(trials)
    _check_options(backend, workers, address)
    folder = Path(results_dir)
    if saved_from and not saved_only:
        raise ValueError(
            f"saved_from reads other runs' records for a report that runs nothing: expected saved_only=True with "
            f"saved_from={list(map(str, saved_from))!r}"
        )
    if saved_only:
        if fresh:
            raise ValueError("saved_only runs nothing and fresh deletes the records: expected one of them, got both")
        others = [_sibling(folder, other) for other in saved_from]
        if absent := [str(other) for other in others if not other.is_dir()]:
            raise ValueError(
                f"saved_from names no folder of records at {absent}: expected the trial folders of earlier runs "
                f"(names next to {str(folder)!r}, or paths)"
            )
        saved: dict[str, dict[str, Any]] = {}
        for source in (folder, *others):
            if source.is_dir():
                saved.update(_existing_records([t for t in checked if t.key not in saved], source))
        result = SweepResult(
            (saved[trial.key] for trial in checked if trial.key in saved),
            executed=(),
            reused=tuple(trial.key for trial in checked if trial.key in saved),
            outdated=tuple(
                t.key for t in checked if t.key in saved and saved[t.key].get("fingerprint") != t.fingerprint
            ),
            missing=tuple(trial.key for trial in checked if trial.key not in saved),
            wall_s=time.perf_counter() - start,
        )
        if progress:
            print(f"{desc or 'sweep'} (saved records only): {result.summary}", file=sys.stderr, flush=True)
        return result
    folder.mkdir(parents=True, exist_ok=True)
    if fresh:
        remove_records(folder, [trial.key for trial in checked])
    outdated = _outdated(checked, folder)
    if outdated:
        remove_records(folder, [trial.key for trial in outdated])
        if progress:
            print(
                f"{desc or 'sweep'}: {len(outdated)} saved trial(s) were made by other code or settings "
                f"(their fingerprint differs) and run again, e.g. {outdated[0].key!r}",
                file=sys.stderr,
                flush=True,
            )
    records = _existing_records(checked, folder)
    reused = tuple(trial.key for trial in checked if trial.key in records)
    pending = [trial for trial in checked if trial.key not in records]
    for fn in dict.fromkeys(trial.fn for trial in pending):
        resolve_function(fn)  # fail now, in the caller, on a typo rather than once per trial in the workers

    failures: dict[str, str] = {}
    fingerprints = {trial.key: dict(trial.fingerprint) for trial in pending}
    commit = git_commit() if pending else None
    bar = _Progress(total=len(checked), done=len(reused), desc=desc, enabled=progress)

    def on_outcome(outcome: TrialOutcome) -> None:
        if outcome.record is not None:
            outcome.record["fingerprint"] = fingerprints[outcome.key]
            outcome.record["commit"] = commit
            write_record(folder, outcome.record)
            records[outcome.key] = outcome.record
        else:
            failures[outcome.key] = outcome.error or "unknown error"
        bar.update(outcome, failed=len(failures))

    try:
        if pending and backend == "local":
            from stmg_bench.sweep.local_backend import run_local

            run_local(pending, workers, on_outcome)
        elif pending:
            from stmg_bench.sweep.ray_backend import run_ray

            run_ray(pending, workers, address, on_outcome)
    finally:
        result = SweepResult(
            (records[trial.key] for trial in checked if trial.key in records),
            executed=tuple(trial.key for trial in pending if trial.key in records),
            reused=reused,
            rerun=tuple(trial.key for trial in outdated),
            failed=tuple(trial.key for trial in pending if trial.key in failures),
            wall_s=time.perf_counter() - start,
        )
        bar.close(result.summary)
    if failures:
        raise TrialsFailedError({key: failures[key] for key in result.failed}, result)
    return result


def run_sweep_then_report(
    trials: Iterable[Trial], results_dir: str | os.PathLike[str], **kwargs: Any
) -> tuple[SweepResult, TrialsFailedError | None]:
    """:func:`run_sweep` for a study that reports what finished before it says what failed.

    Returns the records (of every trial that has one) and the :class:`TrialsFailedError` (``None`` when every
    trial ran): the study writes its report from the records, names the failed trials in it, then raises the error.
    ``kwargs`` are :func:`run_sweep`'s.
    """
    try:
        return run_sweep(trials, results_dir, **kwargs), None
    except TrialsFailedError as exc:
        return cast(SweepResult, exc.result), exc  # run_sweep raises it with its SweepResult
