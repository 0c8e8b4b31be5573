"""Everything MLflow holds: the study runs (``tracker``), the cell runs a study resumes from
(``cell_runs``), the trained models' runs (``model_runs``), the store, its URI and its locks
(``store``, ``store_lock``; a new SQLite store copied from a kept empty one: ``empty_store``),
the datasets a run used (``dataset_inputs``), the environment it ran in (``environment``), and
the writer process that records the cells while the next ones compute (``writer``,
``write_queue``), the plain record of a cell it is sent (``cell_record``), and the driver's view
of the tracker, whose every call runs in that process (``remote_tracker``: a study's driver never
imports MLflow). The only room that talks to MLflow's tracking API.

Imports ``contracts`` only; ``running``, ``presentation`` and ``cli`` import it.
"""
