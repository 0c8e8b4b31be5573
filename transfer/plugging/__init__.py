"""How plugins plug in: the hook specifications (``hookspecs``), the name registry with its
"did you mean" errors (``registry``) and the plugin manager that loads the built-ins, installed
entry points and ``--plugins-dir`` files (``plugin_manager``).

The bottom room: it imports nothing else of ``transfer``; every other room may import it.
"""
