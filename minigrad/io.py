"""Saving and loading checkpoints as .npz archives, without pickle.

A checkpoint holds the model's state_dict under 'model/<name>', the optimizer's under
'optimizer/<key>', and JSON metadata (epoch, metrics, config) under 'meta'. It is read with
allow_pickle=False, so a file can never execute code when loaded. Every way a file can be
wrong (missing, not an .npz, truncated, holding a pickled object array, not fitting the
model) raises an error naming the file and the problem, and leaves the model and optimizer
exactly as they were.
"""

import json
import os
import zipfile
import zlib

import numpy as np

_ZIP_SIGNATURE = b"PK\x03\x04"


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or does not fit the model it is loaded into."""


def save_checkpoint(path, model, optimizer=None, meta=None):
    """Write model (and optimizer) state and JSON-serialisable `meta` to `path` (.npz)."""
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    if optimizer is not None:
        arrays.update({f"optimizer/{k}": v for k, v in optimizer.state_dict().items()})
    arrays["meta"] = np.array(json.dumps(meta or {}))
    # Write to a temporary name and rename, so a crash mid-write never leaves half a file
    # where a good checkpoint used to be.
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


def read_arrays(path) -> dict:
    """Every array in the .npz at `path`, read without pickle; CheckpointError if unreadable."""
    path = os.fspath(path)
    where = f"checkpoint '{path}'"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no such file")
    with open(path, "rb") as f:
        if f.read(4) != _ZIP_SIGNATURE:
            raise CheckpointError(f"{where}: not an .npz archive (no zip signature at the start)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise CheckpointError(
                f"{where}: holds a pickled object array; refusing to load it, because "
                "unpickling can run arbitrary code"
            ) from None
        raise CheckpointError(f"{where}: unreadable ({error})") from None
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, KeyError) as error:
        raise CheckpointError(
            f"{where}: truncated or corrupted ({type(error).__name__}: {error})"
        ) from None


def load_checkpoint(path, model, optimizer=None) -> dict:
    """Load model (and optimizer) state from `path`; returns the metadata dict.

    On any error the model and optimizer keep their previous state."""
    arrays = read_arrays(path)
    where = f"checkpoint '{os.fspath(path)}'"
    model_state = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    optim_state = {k[len("optimizer/"):]: v for k, v in arrays.items()
                   if k.startswith("optimizer/")}
    if not model_state:
        raise CheckpointError(f"{where}: holds no model state ('model/...' arrays)")
    if optimizer is not None and not optim_state:
        raise CheckpointError(f"{where}: holds no optimizer state ('optimizer/...' arrays)")
    try:
        meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{where}: its metadata is not valid JSON ({error})") from None

    backup_model = model.state_dict()
    backup_optim = optimizer.state_dict() if optimizer is not None else None
    try:
        model.load_state_dict(model_state, source=where)
        if optimizer is not None:
            optimizer.load_state_dict(optim_state, source=where)
    except (ValueError, TypeError) as error:
        model.load_state_dict(backup_model)
        if optimizer is not None:
            optimizer.load_state_dict(backup_optim)
        raise CheckpointError(str(error)) from None
    return meta
