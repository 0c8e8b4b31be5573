"""``python -m transfer`` is the ``transfer`` command."""

from .cli.main import main

main()
