"""MkDocs hooks: generate the task pages and the results pages before every build.

* ``docs/tasks/<name>.md``, one per registered task, from the task's own docstring, signature,
  spaces and metadata (so a page cannot drift from the code), with a picture: the payoff table
  with its SE and pure NE marked (matrix games), a rendered frame (MuJoCo, off-screen through EGL
  or OSMesa, see :mod:`stmg_envs.mujoco.offscreen_gl`; highway-env, off-screen pygame), and
  ``docs/tasks/index.md``, the table of all of them.
* ``docs/contributing.md`` and ``docs/changelog.md``: the repository's ``CONTRIBUTING.md`` and
  ``CHANGELOG.md``.
* ``docs/results/``: the result pages of ``benchmarks/results/`` (written by the benchmark
  scripts) with their plots, links rewritten to stay inside the site, listed in the sidebar by
  suite (:data:`RESULT_GROUPS`), the summary's runs first, then the newest first.
* A line ``<!-- include: summary.md -->`` in a page is replaced by that results file
  (``benchmarks/results/summary.md``, written by ``benchmarks/summary.py``); the build fails if it is missing.

The generated folders are ignored by git; ``make docs`` (``mkdocs build --strict``) rebuilds them.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
RESULTS = ROOT / "benchmarks" / "results"

#: Where a page's picture comes from, by task family (the first part of the entry point's module).
RENDERED = ("mujoco", "highway")


def on_config(config: Any, **kwargs: Any) -> Any:
    """Write the generated pages and list them in the navigation (in place of ``tasks/`` and ``results/``)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    for name in ("CONTRIBUTING.md", "CHANGELOG.md"):  # the repository's own files, one source
        (DOCS / name.lower()).write_text(_rewrite_result_links((ROOT / name).read_text(), set()))
    generated = {"tasks/": write_task_pages(DOCS / "tasks"), "results/": write_result_pages(DOCS / "results")}
    nav = []
    for entry in config["nav"]:
        ((title, target),) = entry.items()
        nav.append({title: generated[target]} if target in generated else entry)
    config["nav"] = nav
    return config


def _family(spec: Any) -> str:
    return spec.parallel_entry_point.split(".")[1]


def _slug(task_id: str) -> str:
    return task_id.split("/")[1].lower()


def _space_rows(env: Any, agents: list[str]) -> list[str]:
    rows = ["| agent | observation space | action space |", "|---|---|---|"]
    for agent in agents:
        rows.append(f"| `{agent}` | `{env.observation_space(agent)}` | `{env.action_space(agent)}` |")
    return rows


def _payoff_picture(env: Any, arguments: str = "the default arguments") -> list[str]:
    from stmg_envs.equilibria import pure_nash_equilibria, stackelberg_equilibrium

    payoffs = env.payoffs
    if payoffs.ndim != 3:
        return [f"A game of {payoffs.shape[0]} agents: payoffs of shape `{payoffs.shape}`."]
    se = stackelberg_equilibrium(payoffs).joint_action
    nash = set(pure_nash_equilibria(payoffs))
    team = all((payoffs[i] == payoffs[0]).all() for i in range(payoffs.shape[0]))
    header = "| agent_0 \\ agent_1 | " + " | ".join(f"a{j + 1}" for j in range(payoffs.shape[2])) + " |"
    lines = [
        f"Payoffs with {arguments} (rows: `agent_0`, the leader under the default order; columns: "
        "`agent_1`). **SE** = the Stackelberg equilibrium with `agent_0` leading; *NE* = a pure Nash equilibrium"
        + ("; one number per cell: a team game." if team else "; each cell: agent_0's payoff, agent_1's."),
        "",
        header,
        "|---|" + "---|" * payoffs.shape[2],
    ]
    for i in range(payoffs.shape[1]):
        cells = []
        for j in range(payoffs.shape[2]):
            value = f"{payoffs[0, i, j]:g}" if team else f"{payoffs[0, i, j]:g}, {payoffs[1, i, j]:g}"
            marks = (["**SE**"] if (i, j) == se else []) + (["*NE*"] if (i, j) in nash else [])
            cells.append(value + (" " + " ".join(marks) if marks else ""))
        lines.append(f"| a{i + 1} | " + " | ".join(cells) + " |")
    return lines


def _frame(task_id: str, folder: Path, family: str) -> list[str]:
    import numpy as np
    import pettingzoo

    try:
        env = pettingzoo.make("parallel", task_id, render_mode="rgb_array")
        env.reset(seed=0)
        for agent in env.possible_agents:
            env.action_space(agent).seed(0)
        for _ in range(10):
            if not env.agents:
                break
            env.step({a: env.action_space(a).sample() for a in env.agents})
        frame = env.render()
        env.close()
    except Exception as exc:  # no off-screen OpenGL: say so on the page and in the log, keep building
        print(f"docs: no frame for {task_id}: {type(exc).__name__}: {exc} (tools/offscreen-gl says what to install)")
        return [f"(No frame: rendering failed on the machine that built these pages: `{type(exc).__name__}: {exc}`.)"]
    from matplotlib import image

    path = folder / f"{_slug(task_id)}.png"
    image.imsave(path, np.asarray(frame))
    backend = os.environ.get("MUJOCO_GL") if family == "mujoco" else None
    how = f"MuJoCo with MUJOCO_GL={backend}" if backend else "pygame's off-screen surface"
    if how not in _REPORTED:
        print(f"docs: task frames rendered off-screen by {how}")
        _REPORTED.add(how)
    return [f"![A frame of {task_id}, rendered off-screen after 10 steps by {how}]({path.name})"]


_REPORTED: set[str] = set()


def _body(doc: str) -> str:
    """A docstring's description (before ``Args:``/``Examples:``), its Markdown headings moved below the page's."""
    text = doc.split("\n\nArgs:", maxsplit=1)[0].split("\n\nExamples:", maxsplit=1)[0]
    text = re.sub(r"(?m)^## Version history\n(?:\*.*\n?)+", "", text)
    return re.sub(r"(?m)^(#{1,3}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text).strip()


def _version_history(doc: str, task_id: str) -> list[str]:
    match = re.search(r"(?:Version history:|## Version history)\n((?:\s*\*.*\n?)+)", doc)
    if match:
        return [line.strip() for line in match.group(1).splitlines() if line.strip()]
    version = task_id.rsplit("-", 1)[1]
    return [f"* `{version}`: the first version (stmg-envs 0.1.0)."]


def write_task_pages(folder: Path) -> list[Any]:
    import pettingzoo

    import stmg_envs
    from stmg_envs.registration import _TASKS, _load, example_kwargs

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    index = [
        "# Tasks",
        "",
        'Every task is registered three times: `pettingzoo.make("parallel", id)` (the simultaneous game), '
        '`pettingzoo.make("aec", id)` (its STMG) and `gymnasium.make(id)` (the STMG one decision at a time). '
        "These pages are generated from each task's docstring, signature, spaces and metadata when the site is "
        f"built (stmg-envs {stmg_envs.__version__}).",
        "",
        "| ID | description | extra |",
        "|---|---|---|",
    ]
    for task_id in stmg_envs.registered_task_ids():
        spec = _TASKS[task_id]
        factory = _load(spec.parallel_entry_point)
        example = example_kwargs(task_id)  # a task with no default game (stmg/Matrix-v0): an example's arguments
        args = "".join(f", {k}={v!r}" for k, v in example.items())
        env = pettingzoo.make("parallel", task_id, **example)
        agents = list(env.possible_agents)
        doc = inspect.getdoc(factory) or ""
        class_doc = inspect.getdoc(type(env)) or ""
        aec = pettingzoo.make("aec", task_id, **example)
        lines = [
            f"# {task_id}",
            "",
            spec.description + ".",
            "",
            f"Entry point: `{spec.parallel_entry_point}`"
            + (f"; needs `pip install 'stmg-envs[{spec.extra}]'`." if spec.extra else "."),
            "",
            "```python",
            "import pettingzoo, gymnasium, stmg_envs",
            f'parallel = pettingzoo.make("parallel", "{task_id}"{args})  # simultaneous game',
            f'aec = pettingzoo.make("aec", "{task_id}"{args})  # its STMG',
            f'single = gymnasium.make("{task_id}"{args})  # the STMG, one decision per step',
            "```",
            "",
            "## Arguments",
            "",
            f"`{factory.__name__}{inspect.signature(factory)}`",
            "",
            "Every sequential form also takes `order=` and `flatten=` (see the STMG page).",
            "",
            "## Description",
            "",
            _body(doc),
            "",
        ]
        if class_doc and class_doc != doc:
            lines += [
                f"The environment class, `{type(env).__module__}.{type(env).__name__}`:",
                "",
                _body(class_doc),
                "",
            ]
        lines += [
            f"## Spaces ({f'`{args[2:]}`' if example else 'default arguments'})",
            "",
            f"Agents: {', '.join(f'`{a}`' for a in agents)}.",
            "",
            "Simultaneous game:",
            "",
            *_space_rows(env, agents),
            "",
            "STMG (the observation adds the prior actions, their mask and the rank):",
            "",
            *_space_rows(aec, agents[:1]),
            "",
        ]
        if hasattr(env, "state_space"):
            lines += [f"Global state: `{env.state_space}`.", ""]
        metadata = {k: v for k, v in getattr(env, "metadata", {}).items() if not callable(v)}
        lines += ["## Metadata", "", "```python", repr(metadata), "```", "", "## Picture", ""]
        if hasattr(env, "payoffs"):
            lines += _payoff_picture(env, f"`{args[2:]}`" if example else "the default arguments")
        elif _family(spec) in RENDERED:
            lines += _frame(task_id, folder, _family(spec))
        lines += ["", "## Version history", "", *_version_history(doc + "\n" + class_doc, task_id), ""]
        env.close()
        (folder / f"{_slug(task_id)}.md").write_text("\n".join(lines) + "\n")
        index.append(f"| [`{task_id}`]({_slug(task_id)}.md) | {spec.description} | {spec.extra or '-'} |")
    notes = (DOCS / "assets" / "tasks_notes.md.in").read_text()
    (folder / "index.md").write_text("\n".join(index) + "\n\n" + notes)
    return ["tasks/index.md", *(f"tasks/{_slug(t)}.md" for t in stmg_envs.registered_task_ids())]


_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _rewrite_result_links(text: str, pages: set[str]) -> str:
    """Links to other result pages and plots point to their copies; links out of the site become plain text."""

    def fix(match: re.Match[str]) -> str:
        bang, label, target = match.groups()
        if target.startswith(("http://", "https://", "#")):
            return match.group(0)
        name = Path(target.split("#")[0]).name
        if name in pages:
            return f"{bang}[{label}]({name})"
        return label

    return _LINK.sub(fix, text)


#: The sidebar's groups of result pages, in order: (title, the stems it takes, by prefix). A page goes to the group
#: with the longest prefix of its name (``nagent_probe_`` before ``nagent_``); one no group takes goes to "Other".
RESULT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Summary", ("summary",)),
    ("Matrix games, 2 agents", ("matrix_", "quick", "heldout_paper")),
    ("N-agent games", ("nagent_", "heldout_nagent", "newdraws_nagent")),
    ("Orders", ("order_study", "nagent_orders", "nagent_reversed", "nagent_random")),
    ("Iterated games (Oracles & Followers)", ("oracles_followers", "iterated_")),
    ("Replies and probes", ("reply_", "nagent_probe_")),
    ("Multi-Agent MuJoCo", ("mujoco",)),
    ("On-ramp merging", ("onramp",)),
    ("Throughput and overhead", ("throughput", "harness_overhead", "update_size")),
)


def _git_dates(paths: list[Path]) -> dict[str, int]:
    """Each file's last commit time (Unix seconds) from one ``git log``; a file git has no commit of: its mtime."""
    import subprocess

    dates: dict[str, int] = {}
    try:
        log = subprocess.run(
            ["git", "log", "--format=%x00%ct", "--name-only", "--", str(RESULTS.relative_to(ROOT))],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        log = ""
    for block in log.split("\x00")[1:]:
        stamp, *names = block.strip().splitlines() or ["0"]
        for name in names:
            dates.setdefault(Path(name).name, int(stamp))
    return {p.name: dates.get(p.name, int(p.stat().st_mtime)) for p in paths}


def group_result_pages(pages: list[Path]) -> list[tuple[str, list[Path]]]:
    """The result pages by group of :data:`RESULT_GROUPS`: the summary's own runs first (in its table order), then
    the newest first (by the date of the page's last commit, or its file date if it has none)."""
    sys.path.insert(0, str(ROOT))  # the harness of this checkout, which the summary's runs are named in
    from stmg_bench.suites.summary import headline_runs

    headline = headline_runs()
    dates = _git_dates(pages)
    groups: dict[str, list[Path]] = {title: [] for title, _ in RESULT_GROUPS}
    groups["Other"] = []
    for page in pages:
        matches = [(len(k), t) for t, takes in RESULT_GROUPS for k in takes if page.stem.startswith(k)]
        groups[max(matches)[1] if matches else "Other"].append(page)

    def order(page: Path) -> tuple[int, int]:
        rank = headline.index(page.stem) if page.stem in headline else len(headline)
        return rank, -dates[page.name]

    return [(title, sorted(members, key=order)) for title, members in groups.items() if members]


def write_result_pages(folder: Path) -> list[Any]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pages = sorted(RESULTS.glob("*.md"))
    images = sorted(RESULTS.glob("*.png"))
    names = {p.name for p in pages} | {p.name for p in images}
    for image_path in images:
        shutil.copy2(image_path, folder / image_path.name)
    index = [
        "# Benchmark results",
        "",
        "Each page below was written by a script in `benchmarks/` (its first lines say which, with what "
        "settings, on what machine); the plots beside them too. Nothing here is edited by hand. The pages are "
        "grouped by suite; in each group the runs of the summary table come first, then the newest first (by the "
        "date of the page's last commit).",
        "",
    ]
    nav: list[Any] = ["results/index.md"]
    for group, members in group_result_pages(pages):
        index += [f"## {group}", ""]
        for page in members:
            text = page.read_text()
            title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")), page.stem)
            (folder / page.name).write_text(_rewrite_result_links(text, names))
            index.append(f"- [{title}]({page.name})")
            for image_path in images:
                if image_path.name.startswith(page.stem + "_") or image_path.stem == page.stem:
                    index.append(f"    - ![{image_path.stem}]({image_path.name})")
        index.append("")
        nav.append({group: [f"results/{p.name}" for p in members]})
    (folder / "index.md").write_text("\n".join(index) + "\n")
    return nav


#: A line of a docs page that the build replaces with a results file, e.g. ``<!-- include: summary.md -->``.
INCLUDE = re.compile(r"(?m)^<!-- include: ([\w.-]+\.md) -->$")


def include_results(markdown: str, page_path: str) -> str:
    """Replace each :data:`INCLUDE` marker with that file of ``benchmarks/results/``: its title dropped, its headings
    moved one level down, its links pointed at the result pages (relative to the page at ``page_path``).

    Raises:
        FileNotFoundError: the file is not there, with the command that writes it.
    """
    pages = {p.name for p in RESULTS.glob("*.md")} | {p.name for p in RESULTS.glob("*.png")}
    prefix = "../" * page_path.count("/") + "results/"

    def replace(match: re.Match[str]) -> str:
        path = RESULTS / match.group(1)
        if not path.exists():
            raise FileNotFoundError(
                f"{page_path} includes {path.relative_to(ROOT)}, which is not there: run `python "
                f"benchmarks/{match.group(1).removesuffix('.md')}.py` (it writes the file from the results' CSVs)"
            )
        text = path.read_text().split("\n", 1)[1] if path.read_text().startswith("# ") else path.read_text()
        text = re.sub(r"(?m)^(#{1,5}) ", r"#\1 ", text)

        def fix(link: re.Match[str]) -> str:
            bang, label, target = link.groups()
            if target.startswith(("http://", "https://", "#")):
                return link.group(0)
            name = Path(target.split("#")[0]).name
            return f"{bang}[{label}]({prefix}{name})" if name in pages else label

        return _LINK.sub(fix, text).strip()

    return INCLUDE.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Include the results files that a page names (:data:`INCLUDE`)."""
    return include_results(markdown, page.file.src_uri)
