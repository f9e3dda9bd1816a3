"""Other MARL libraries consume the stmg tasks (see the README, section Interop)."""
