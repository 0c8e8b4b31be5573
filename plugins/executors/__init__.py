"""The ``ray`` executor (``ray_executor``): a study's cells as Ray tasks, registered under
``register_executors``; ``local`` is built into the core. Imports only ``transfer`` (and Ray)."""
