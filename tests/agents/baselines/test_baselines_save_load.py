"""Saving and loading IPPO and MAPPO."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from stmg_agents.baselines import IPPO, MAPPO
from stmg_envs.matrix import penalty

pytestmark = pytest.mark.agents

ALGORITHMS = [IPPO, MAPPO]
OBS = {"agent_0": np.ones(1, np.float32), "agent_1": np.ones(1, np.float32)}


def _probabilities(agent) -> np.ndarray:
    readout = agent.action_readout()
    return np.stack([readout[a].probabilities for a in agent.possible_agents])


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_round_trip_from_registered_id(cls, tmp_path):
    """A model saved from a registered id reloads without an env, with the same policy, config and step count."""
    agent = cls("stmg/Penalty-v0", seed=4, env_kwargs={"k": -25}, ent_coef=0.02).learn(300)
    path = tmp_path / "model.zip"
    agent.save(path)
    loaded = cls.load(path)
    assert loaded.config == agent.config and loaded.seed == 4 and loaded.num_timesteps == agent.num_timesteps
    np.testing.assert_array_equal(_probabilities(loaded), _probabilities(agent))
    assert loaded.predict(OBS) == agent.predict(OBS)
    loaded.learn(100, reset_num_timesteps=False)  # the optimiser state came back too: training continues
    assert loaded.num_timesteps == agent.num_timesteps + 100


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_factory_trained_model_needs_env_on_load(cls):
    """A factory cannot be saved: load() says to pass env=, and works when given one."""
    agent = cls(lambda: penalty(k=0), seed=1).learn(100)
    buffer = io.BytesIO()
    agent.save(buffer)
    with pytest.raises(ValueError, match="pass it as `env=` to load"):
        cls.load(io.BytesIO(buffer.getvalue()))
    loaded = cls.load(io.BytesIO(buffer.getvalue()), env=lambda: penalty(k=0))
    np.testing.assert_array_equal(_probabilities(loaded), _probabilities(agent))


def test_loading_the_other_algorithm_or_a_foreign_file_fails(tmp_path):
    """The archive records its algorithm; a foreign zip or non-zip is refused clearly."""
    path = tmp_path / "ippo.zip"
    IPPO("stmg/Penalty-v0", n_envs=1).save(path)
    with pytest.raises(ValueError, match="expected a saved MAPPO agent, got 'IPPO'"):
        MAPPO.load(path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("data", "{}")
    with pytest.raises(ValueError, match="with meta.json"):
        IPPO.load(other)
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="unreadable file"):
        IPPO.load(tmp_path / "text.zip")


def test_load_with_a_mismatching_env_fails(tmp_path):
    """Loading onto a game with other agents or observation sizes is refused before any weights are copied."""
    path = tmp_path / "mappo.zip"
    MAPPO("stmg/Penalty-v0", n_envs=1).save(path)
    with pytest.raises(ValueError, match="expected an environment with agents"):
        MAPPO.load(path, env="stmg/Matrix-v0", env_kwargs={"common_payoff": np.zeros((3, 3, 3)).tolist()})


def test_ippo_archive_holds_a_plain_sb3_model(tmp_path):
    """IPPO's archive embeds SB3's own zip, loadable with PPO.load for SB3 tooling."""
    from stable_baselines3 import PPO

    path = tmp_path / "ippo.zip"
    agent = IPPO("stmg/Penalty-v0", n_envs=1)
    agent.save(path)
    with zipfile.ZipFile(path) as archive:
        ppo = PPO.load(io.BytesIO(archive.read("sb3_ppo.zip")), device="cpu")
    assert ppo.observation_space == agent.encoder.space


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_a_damaged_save_is_refused_saying_so(cls, tmp_path):
    """A save whose weights do not load, or whose meta.json lacks what load reads or does not parse, raises
    ValueError saying the save is damaged (or of another version), not torch's, SB3's or a bare KeyError."""
    path = tmp_path / "model.zip"
    cls("stmg/Penalty-v0", n_envs=1).save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}

    def rewritten(name: str, data: bytes) -> io.BytesIO:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for member, content in {**files, name: data}.items():
                archive.writestr(member, content)
        return io.BytesIO(buffer.getvalue())

    weights = next(name for name in files if name != "meta.json")
    with pytest.raises(ValueError, match=f"expected a loadable {cls.algorithm_name} save, got a damaged one"):
        cls.load(rewritten(weights, files[weights][: len(files[weights]) // 2]))
    meta = json.loads(files["meta.json"])
    del meta["encoded_dim"]
    with pytest.raises(ValueError, match=r"got a damaged save or one of another version \(missing \['encoded_dim'\]\)"):
        cls.load(rewritten("meta.json", json.dumps(meta).encode()))
    with pytest.raises(ValueError, match="got a damaged meta.json"):
        cls.load(rewritten("meta.json", b"{not json"))
