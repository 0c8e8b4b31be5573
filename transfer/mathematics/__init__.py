"""The tensor mathematics attacks and studies share, one implementation each: norms, projections
and random directions (``geometry``), input gradients (``gradients``), batched DeepFool
(``deepfool``), memory-sized chunks of a batch (``chunking``), Wilson intervals (``intervals``),
paired comparisons on the same test points (``paired``: Wilcoxon, McNemar, Newcombe's interval),
rates pooled over cells that share points (``cluster_bootstrap``) and the choice of device
(``device``).

A bottom room: it imports nothing else of ``transfer``; every other room may import it.
"""
