"""Other MARL libraries consume the stmg tasks (see docs/interop.md)."""
