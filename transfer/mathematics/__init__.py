"""The tensor mathematics attacks and studies share, one implementation each: norms, projections
and random directions (``geometry``), input gradients (``gradients``), batched DeepFool
(``deepfool``), memory-sized chunks of a batch (``chunking``), intervals of rates, means, ratios
and slopes (``intervals``: Wilson, Student t, Bonferroni), of a rank correlation
(``correlation``: Fisher's z) and of any statistic of per-point values (``bootstrap``: the
percentile bootstrap), paired comparisons on the same test points (``paired``: Wilcoxon,
McNemar, Newcombe's interval), rates pooled over cells that share points
(``cluster_bootstrap``) and the choice of device (``device``).

A bottom room: it imports nothing else of ``transfer``; every other room may import it.
"""
