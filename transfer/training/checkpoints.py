"""Weight files the user already has, read without unpickling anything foreign: a state dict in
``.safetensors`` (safetensors) or ``.pt`` / ``.pth`` / ``.bin`` (``torch.load(weights_only=True)``),
or a folder holding one (a Hugging Face hub snapshot already on disk). A state dict saved inside a
training checkpoint (under ``state_dict``, ``model``, ``model_state_dict`` or ``net``) or by
``DataParallel`` (keys prefixed ``module.``) is unwrapped. A file is identified by its sha256,
which enters the model's cache key: a changed file is a different model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

STATE_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
WRAPPERS = ("state_dict", "model_state_dict", "model", "net")
_digests: dict[tuple[str, int, int], str] = {}


class CheckpointError(ValueError):
    """A weight file that cannot be used; the message names the file and what is wrong."""


def locate(path: str | Path) -> Path:
    """The weight file ``path`` names: the file itself, or the one state-dict file inside a
    folder (a hub snapshot: ``model.safetensors`` first); a clear error when there is none."""
    file = Path(path).expanduser()
    if file.is_dir():
        found = sorted(p for p in file.rglob("*") if p.is_file() and p.suffix in STATE_SUFFIXES)
        found.sort(key=lambda p: (p.suffix != ".safetensors", len(p.parts)))
        if not found:
            raise CheckpointError(f"weights: the folder {file} holds no "
                                  f"{'/'.join(STATE_SUFFIXES)} file")
        return found[0].resolve()
    if not file.is_file():
        raise CheckpointError(f"weights: no file {file} (give the path of a "
                              f"{'/'.join(STATE_SUFFIXES)} state dict or a TorchScript file)")
    return file.resolve()


def file_identity(file: Path, field: str = "weights") -> dict[str, Any]:
    """What identifies the user's file, as model parameters: ``{field: path, field_sha256,
    field_bytes}`` (the hash memoised by path, size and modification time, so a large file is
    hashed once per process)."""
    stat = file.stat()
    key = (str(file), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        _digests[key] = digest.hexdigest()
    return {field: str(file), f"{field}_sha256": _digests[key], f"{field}_bytes": stat.st_size}


def read_state_dict(file: Path) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file, unwrapped (see the module docstring)."""
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(file), device="cpu")
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"weights: {file} cannot be read as a state dict "
                              f"({type(error).__name__}: {str(error)[:300]})") from None
    for key in WRAPPERS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f"weights: {file} holds no state dict (a mapping of names to "
                              "tensors)")
    if state and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def load_weights(net: nn.Module, file: Path) -> None:
    """Load ``file`` into ``net``, every key matched; else an error naming the missing and the
    unexpected keys and the shapes that differ."""
    state = read_state_dict(file)
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} (the architecture has {tuple(own[k].shape)})"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        problems = [f"{label} ({len(keys)}): {', '.join(keys[:6])}"
                    + (", ..." if len(keys) > 6 else "")
                    for label, keys in (("missing keys", missing),
                                        ("unexpected keys", unexpected),
                                        ("other shapes", shapes)) if keys]
        raise CheckpointError(f"weights: {file} does not fit the architecture: "
                              + "; ".join(problems))
    net.load_state_dict(state)


def is_torchscript(file: Path) -> bool:
    """A TorchScript archive (``torch.jit.save``): a zip with a ``code/`` folder."""
    import zipfile

    if not zipfile.is_zipfile(file):
        return False
    with zipfile.ZipFile(file) as archive:
        return any("/code/" in name or name.startswith("code/") for name in archive.namelist())
