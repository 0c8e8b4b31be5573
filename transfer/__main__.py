"""``python -m transfer`` is the ``transfer`` command."""

from .cli import main

main()
