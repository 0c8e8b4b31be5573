"""The built-in plugins, installed as ``transfer.plugins``: datasets, models, attacks and
executors, one per file, each registered through a ``register_*`` hook exactly as a third-party
plugin is. They import only the public API (``from transfer import ...``); nothing imports them
(the plugin manager names them as strings)."""
