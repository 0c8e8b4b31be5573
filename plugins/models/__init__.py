"""The built-in model families, one per file: torch networks (``mlp``, ``cnn``, ``maxout``,
``rbf_net``, ``softmax``, ``timm_models``, ``checkpoint``, ``substitute``), scikit-learn models
(``logreg``, ``linear_svm``, ``rbf_svm``, ``decision_tree``, ``random_forest``, ``knn``) and
``skops_model`` files, each registered under ``register_models``. They import only ``transfer``."""
