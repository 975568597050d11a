"""``python -m api.cli``: the same as the ``cadastre`` entry point (the benchmarks use it)."""

from api.cli import main

main()
