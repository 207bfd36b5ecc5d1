"""`python -m sosbench.cli` is the `sosbench` command."""

from sosbench.cli import main

main()
