"""A short tour of the STMG: wrap Penalty, play two time steps, print what each agent saw.

Run with ``python -m stmg_envs.demo`` (or ``make run``).
"""

from __future__ import annotations

import numpy as np

from stmg_envs import stmg_v0
from stmg_envs.equilibria import stackelberg_equilibrium
from stmg_envs.matrix import penalty


def describe(obs: dict, env) -> str:
    """One line: rank, and which superiors' actions the agent sees."""
    seen = []
    for other in env.possible_agents:
        if obs["prior_mask"][env.possible_agents.index(other)]:
            one_hot = obs["prior_actions"][env.action_layout[other]]
            seen.append(f"{other} played a{int(np.argmax(one_hot)) + 1}")
    return f"rank {int(obs['rank'])}; sees " + (", ".join(seen) if seen else "no prior actions")


def main() -> None:
    game = penalty(k=-100)
    env = stmg_v0(game)
    env.reset(seed=0)
    print("Penalty (k=-100), common payoff:")
    print(game.payoffs[0].astype(int))
    se = stackelberg_equilibrium(game.payoffs)
    print(
        f"Stackelberg equilibrium with agent_0 leading: {se.joint_action} (a{se.joint_action[0] + 1}, "
        f"a{se.joint_action[1] + 1}), payoffs {tuple(float(p) for p in se.payoffs)}\n"
    )
    # The leader plays a1; the follower answers with the best response to what it sees.
    for agent in env.agent_iter(max_iter=2 * len(env.possible_agents)):
        obs, _reward, _term, _trunc, _info = env.last()
        if agent == "agent_0":
            action = 0
        else:
            leader = int(np.argmax(obs["prior_actions"][env.action_layout["agent_0"]]))
            action = int(np.argmax(game.payoffs[1][leader]))
        print(f"t={env.num_time_steps} {agent}: {describe(obs, env)} -> plays a{action + 1}")
        before = env.num_time_steps
        env.step(action)
        if env.num_time_steps != before:
            print(f"      time step done: the parallel env stepped once; rewards {env.rewards}")
    env.close()


if __name__ == "__main__":
    main()
