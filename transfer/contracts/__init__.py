"""The contracts plugins implement and studies are written against: datasets (``data``), models
and their capabilities (``models``, ``traits``, ``lipschitz_bound``), attacks (``attacks``,
``attack_checks``), studies and the cells they plan (``study``, ``cell``, ``context``), typed
results, rates and means (``results``), claims and headline numbers (``claims``, ``headlines``),
summary tables (``summary``), the cache folder (``cache_folder``), config specs and their
validation (``specs``, ``validation``) and executors (``executors``, with the built-in ``local``
one).

Imports ``plugging`` and ``mathematics`` only; every room above may import it. Plugins reach it
through ``from transfer import ...``, never directly.
"""
