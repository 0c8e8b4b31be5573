"""Figures a study can draw from some of its cells (``Study.early_figures``): the driver makes
one as soon as its cells are in and the writer draws and logs it while the next cells compute.
The file is the one the summary draws; a figure one of whose cells failed is left to the
summary."""

from __future__ import annotations

from pathlib import Path

from transfer import run_study
from transfer.running.figures import EarlyFigures
from transfer.studies.transfer_matrix import TransferMatrix
from transfer.tracking.remote_tracker import RemoteTracker
from transfer.tracking.tracker import Tracker
from transfer.tracking.write_queue import WriteQueue
from transfer.tracking.writer import shared_writer

from .conftest import tiny_config


def test_an_early_figure_is_logged_once_its_cells_are_in_and_is_the_summary_s(
        tracking_uri, tmp_path):
    finished = run_study(tiny_config(), tracking_uri=tracking_uri)  # the results to draw from
    study = TransferMatrix()
    config = study.Config.model_validate(tiny_config())
    cells = study.plan(config)
    groups = study.early_figures(config)
    assert list(groups) == ["heatmap_fgsm", "heatmap_pgd", "heatmap_noise"]
    tracker = Tracker(tracking_uri)
    parent = tracker.client.create_run(tracker.experiment("early")).info.run_id
    queue: WriteQueue[str] = WriteQueue()
    early = EarlyFigures(study, config, cells, RemoteTracker(shared_writer(), tracking_uri),
                         parent, queue)
    order = early.order(cells)
    assert sorted(order, key=cells.index) == cells
    attacks = [name.removeprefix("heatmap_") for name in groups]
    assert [c["attack"] for c in order] == sorted((c["attack"] for c in cells), key=attacks.index)

    results = {}
    failing = groups["heatmap_pgd"][-1]  # pgd's last cell fails: its figure waits for the summary
    for cell in order:
        if cell != failing:
            results[cell] = finished.results[cell]
        early.finished(cell, results)
        if cell == groups["heatmap_fgsm"][-1]:  # before any other attack's cell is in
            assert list(queue.written(wait=True)) == ["heatmap_fgsm"]
    assert early.logged() == {"heatmap_noise"}
    logged = {a.path for a in tracker.client.list_artifacts(parent, "figures")}
    assert logged == {"figures/heatmap_fgsm.png", "figures/heatmap_noise.png"}
    queue.close()

    # the same files as the summary's figures (drawn by a study object of its own), logged by MLflow
    summary = TransferMatrix().summarize(config, finished.results)
    theirs = tracker.client.create_run(tracker.experiment("early")).info.run_id
    for name in ("heatmap_fgsm", "heatmap_noise"):
        tracker.client.log_figure(theirs, summary.figures[name], f"figures/{name}.png")
        files = [Path(tracker.client.download_artifacts(run, f"figures/{name}.png",
                                                        str(tmp_path / run)))
                 for run in (parent, theirs)]
        assert files[0].read_bytes() == files[1].read_bytes(), name


def test_a_figure_is_drawn_once_for_the_same_results():
    """The summary reuses the figure the runner drew early for the same results of its cells,
    and draws it again when they differ."""
    finished = run_study(tiny_config())
    study = TransferMatrix()
    config = study.Config.model_validate(tiny_config())
    early = study.figure(config, "heatmap_fgsm", finished.results)
    assert study.summarize(config, finished.results).figures["heatmap_fgsm"] is early
    fewer = dict(finished.results)
    del fewer[study.early_figures(config)["heatmap_fgsm"][0]]
    assert study.figure(config, "heatmap_fgsm", fewer) is not early
