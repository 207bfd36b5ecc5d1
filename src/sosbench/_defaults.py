"""Statistical defaults that the library and the CLI's options share, importable without numpy.

One bootstrap round count serves `score`, `compare`, `report` and `paper`, so the same pair and seed give
the same CIs whichever command computed them.
"""

BOOTSTRAP_ROUNDS = 2000
"""Bootstrap rounds of every CI (the 2.5% tails rest on 50 rounds)."""

PERMUTATIONS = 5000
"""Sign-flip permutations of `sosbench compare`'s paired test."""
