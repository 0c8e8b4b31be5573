"""What trains and loads models: the torch and scikit-learn adapters (``torch_model``,
``sklearn_model``), the node check of decision trees read from files (``tree_structure``), weight
files (``checkpoints``), input normalization (``normalization``), adversarial training
(``adversarial``), training progress (``progress``), the trained-model cache (``model_cache``)
and ``train_model`` for a model outside any study.

Imports ``contracts``, ``mathematics`` and ``plugging``; ``running`` and ``cli`` import it.
"""
