"""The built-in studies, installed as ``transfer.studies``: one package per study (its ``Study``
class and registration in ``__init__``, ``config``, ``result``, ``claims``, ``report``,
``headlines``, the default ``config.toml`` and its own mathematics in files named after it), and
``shared`` for what several studies use. A study imports ``transfer``, its own package and
``shared``, never another study's package."""
