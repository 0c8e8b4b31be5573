"""The ``transfer`` command (click): the commands (``main``), what they share (``common``), config
files with ``--set`` overrides (``config_files``) and ``transfer report`` (``report_command``).

The top room: it may import every other room, and nothing imports it (but ``__main__``).
"""
