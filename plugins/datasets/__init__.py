"""The built-in datasets, one per file: scikit-learn's ``digits``, synthetic ``mixtures`` and
``spheres``, and the user's files (``mnist``, ``cifar10``, ``npz``, ``image-folder``), each a
``Dataset`` registered under ``register_datasets``. They import only ``transfer``."""
