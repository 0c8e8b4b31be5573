"""The built-in attacks, one per file named after it (``fgsm``, ``pgd``, ``mifgsm``, ``deepfool``,
``noise``, ``tree``, ``forest``, ``neighbors``, ``universal``, ``hopskipjump``), each an ``Attack``
registered under ``register_attacks``. They import only ``transfer``; nothing imports them."""
