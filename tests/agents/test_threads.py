"""Torch's thread count is the caller's: no algorithm changes it, and the deprecated keywords act only during learn."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

torch = pytest.importorskip("torch", reason="needs the [agents] extra")
pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")

from stmg_agents import IPPO, MAPPO, STEP  # noqa: E402
from stmg_agents.baselines.seq_ppo import SeqPPO  # noqa: E402

pytestmark = pytest.mark.agents
TASK, KWARGS = "stmg/Penalty-v0", {"k": -25.0}
#: (class, its deprecated keyword, tiny settings)
ALGORITHMS = [
    (STEP, "torch_threads", {"n_envs": 1, "n_steps": 10}),
    (SeqPPO, "torch_threads", {"n_envs": 1, "n_steps": 10}),
    (MAPPO, "torch_num_threads", {"n_envs": 1, "n_steps": 10}),
    (IPPO, "torch_num_threads", {"n_envs": 1, "n_steps": 10}),
]

IDS = [cls.__name__ for cls, _, _ in ALGORITHMS]


@pytest.fixture
def two_threads() -> Iterator[int]:
    """Torch at two threads (not the one thread these tests otherwise run with), restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield 2
    torch.set_num_threads(previous)


def _threads_during_learn(model) -> list[int]:
    from stable_baselines3.common.callbacks import BaseCallback

    seen: list[int] = []

    class Watch(BaseCallback):
        def _on_step(self) -> bool:
            seen.append(torch.get_num_threads())
            return True

    model.learn(20, callback=Watch())
    return seen


@pytest.mark.parametrize("cls, keyword, settings", ALGORITHMS, ids=IDS)
def test_building_and_learning_leave_torchs_thread_count_alone(cls, keyword, settings, two_threads):
    """Built and trained with its defaults, an algorithm neither changes torch's thread count nor warns: the count
    is the caller's during learn and after it (MAPPO and IPPO used to set one thread, for the whole process, when
    built)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        model = cls(TASK, seed=0, env_kwargs=KWARGS, **settings)
        assert torch.get_num_threads() == two_threads
        during = _threads_during_learn(model)
    assert during and set(during) == {two_threads}
    assert torch.get_num_threads() == two_threads


@pytest.mark.parametrize("cls, keyword, settings", ALGORITHMS, ids=IDS)
def test_the_deprecated_thread_keyword_warns_and_acts_only_during_learn(cls, keyword, settings, two_threads):
    """The old keyword still works for one release: it warns when given, sets its count during learn only, and the
    caller's count is back after learn; a bad value is refused."""
    with pytest.warns(DeprecationWarning, match=f"`{keyword}` is deprecated"):
        model = cls(TASK, seed=0, env_kwargs=KWARGS, **settings, **{keyword: 1})
    assert torch.get_num_threads() == two_threads
    assert set(_threads_during_learn(model)) == {1}
    assert torch.get_num_threads() == two_threads
    with pytest.raises(ValueError, match=f"expected `{keyword}` to be an int >= 1"):
        cls(TASK, seed=0, env_kwargs=KWARGS, **settings, **{keyword: 0})


def test_a_baseline_saved_with_the_old_thread_setting_loads_without_it(tmp_path, two_threads):
    """Files saved before the deprecation hold torch_num_threads=1 in their config: they load without a warning and
    without changing the thread count (the setting is dropped; the count is the caller's)."""
    import json
    import zipfile

    MAPPO(TASK, seed=0, env_kwargs=KWARGS, n_envs=1, n_steps=10).save(tmp_path / "new.zip")
    with zipfile.ZipFile(tmp_path / "new.zip") as source, zipfile.ZipFile(tmp_path / "old.zip", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("meta.json"):
                meta = json.loads(data)
                assert "torch_num_threads" in meta["config"]
                meta["config"]["torch_num_threads"] = 1
                data = json.dumps(meta).encode()
            target.writestr(item, data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        loaded = MAPPO.load(tmp_path / "old.zip")
    assert loaded.config.torch_num_threads is None
    loaded.learn(20)
    assert torch.get_num_threads() == two_threads
