"""Running a study: plan, cells, executor, results and summary, with resume (``runner``); the
plain-data tasks an executor ships to a worker (``tasks``); the checks made before any work
(``preflight``); a study's figures in MLflow, some drawn while cells still compute (``figures``);
and the garbage-collector tuning of a study (``garbage_collection``).

Imports ``contracts``, ``training``, ``tracking``, ``mathematics`` and ``plugging``; only
``cli`` (and ``from transfer import run_study``) import it.
"""
