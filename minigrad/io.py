"""Saving and loading checkpoints as .npz archives, without pickle.

A checkpoint holds the model's state_dict under 'model/<name>', the optimizer's under
'optimizer/<key>', and JSON metadata (epoch, metrics, config) under 'meta'. It is read with
allow_pickle=False, so a file can never execute code when loaded. Every way a file can be
wrong (missing, not an .npz, truncated, holding a pickled object array, not fitting the
model) raises an error naming the file and the problem, and leaves the model and optimizer
exactly as they were.
"""

import contextlib
import hashlib
import json
import os
import tempfile

import numpy as np

_ZIP_SIGNATURE = b"PK\x03\x04"


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or does not fit the model it is loaded into."""


MANIFEST = "manifest"  # JSON: every other member's shape, dtype and SHA-256


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def save_checkpoint(path, model, optimizer=None, meta=None):
    """Write model (and optimizer) state and JSON-serialisable `meta` to `path` (.npz),
    with a manifest of what it holds, so that a damaged file is refused on load."""
    arrays = {f"model/{k}": np.asarray(v) for k, v in model.state_dict().items()}
    if optimizer is not None:
        arrays.update({f"optimizer/{k}": np.asarray(v)
                       for k, v in optimizer.state_dict().items()})
    arrays["meta"] = np.array(json.dumps(json_safe(meta or {}), allow_nan=False))
    write_arrays(path, arrays)


def json_safe(value):
    """`value` with every NaN or infinity replaced by None, so that it is valid JSON (a
    diverged loss is recorded as null, and the file stays readable by any JSON parser), and
    every NumPy number made a Python one (json cannot write np.float32)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()  # a NumPy number (np.float32(0.5), np.int64(3)): plain Python
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_arrays(path, arrays: dict):
    """Write `arrays` to the .npz at `path` with a manifest (each one's shape, dtype and
    SHA-256), atomically: the file is whole, or the old one is still there."""
    arrays = {key: np.asarray(a) for key, a in arrays.items()}
    arrays[MANIFEST] = np.array(json.dumps({
        key: {"shape": list(a.shape), "dtype": a.dtype.str, "sha256": _digest(a)}
        for key, a in arrays.items()}))
    # Write to a temporary name and rename, so a crash mid-write never leaves half a file
    # where a good checkpoint used to be. The name is unique (two saves to one path at once
    # each write their own file, and the last rename wins whole) and sits in the same folder
    # (a rename across file systems would not be atomic).
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it the checkpoint
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)  # never leave a stale half-file behind
        raise


def _manifest(archive, where: str) -> dict:
    if MANIFEST not in archive.files:
        raise CheckpointError(f"{where}: has no manifest of what it holds (damaged, or not "
                              "written by save_checkpoint); refusing to load part of it")
    try:
        manifest = json.loads(str(archive[MANIFEST]))
        assert isinstance(manifest, dict) and all(
            isinstance(v, dict) and isinstance(v.get("shape"), list) for v in manifest.values())
    except (ValueError, AssertionError):
        raise CheckpointError(f"{where}: its manifest is damaged") from None
    missing = sorted(set(manifest) - set(archive.files))
    extra = sorted(set(archive.files) - set(manifest) - {MANIFEST})
    if missing or extra:
        raise CheckpointError(f"{where}: " + "; ".join(
            part for part in (f"{len(missing)} member(s) missing, e.g. {missing[:3]}"
                              if missing else "",
                              f"unlisted member(s) {extra[:3]}" if extra else "") if part))
    return manifest


def _read_member(archive, key: str, entry: dict, where: str) -> np.ndarray:
    """One member, checked against its manifest entry before (size) and after (contents)
    it is read, so a header declaring a huge shape is refused without allocating it."""
    try:
        dtype = np.dtype(entry["dtype"])
        declared = int(np.prod(entry["shape"], dtype=np.int64)) * dtype.itemsize
        stored = archive.zip.getinfo(f"{key}.npy").file_size
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{where}: the manifest entry of '{key}' is damaged") from None
    if stored > declared + 4096:  # an .npy header is far smaller than 4 KB
        raise CheckpointError(f"{where}: '{key}' holds {stored} bytes, but the manifest says "
                              f"{declared}")
    with archive.zip.open(f"{key}.npy") as member:  # the header alone, before any data
        version = np.lib.format.read_magic(member)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, header_dtype = read_header(member)
    if list(shape) != entry["shape"] or header_dtype != dtype:
        raise CheckpointError(f"{where}: '{key}' declares shape {shape} and dtype "
                              f"{header_dtype}, but the manifest says {tuple(entry['shape'])} "
                              f"and {dtype}: the file is damaged")
    array = archive[key]
    if list(array.shape) != entry["shape"] or array.dtype != dtype or \
            _digest(array) != entry.get("sha256"):
        raise CheckpointError(f"{where}: '{key}' does not match the manifest (shape "
                              f"{array.shape}, dtype {array.dtype}): the file is damaged")
    return array


def read_arrays(path) -> dict:
    """Every array in the .npz at `path`, read without pickle and checked against the
    file's manifest; CheckpointError naming the file and the problem if any is wrong."""
    path = os.fspath(path)
    where = f"checkpoint '{path}'"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no such file")
    if os.path.isdir(path):
        raise CheckpointError(f"{where}: is a directory, not a file")
    with open(path, "rb") as f:
        if f.read(4) != _ZIP_SIGNATURE:
            raise CheckpointError(f"{where}: not an .npz archive (no zip signature at the start)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = _manifest(archive, where)
            return {key: _read_member(archive, key, manifest[key], where) for key in manifest}
    except CheckpointError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise CheckpointError(
                f"{where}: holds a pickled object array; refusing to load it, because "
                "unpickling can run arbitrary code"
            ) from None
        raise CheckpointError(f"{where}: unreadable ({error})") from None
    except Exception as error:  # a damaged header can fail in any way NumPy's parser does
        raise CheckpointError(
            f"{where}: truncated or corrupted ({type(error).__name__}: {error})"
        ) from None


def _meta(arrays: dict, where: str) -> dict:
    try:
        meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{where}: its metadata is not valid JSON "
                              f"({type(error).__name__})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where}: its metadata is not a JSON object")
    return meta


def read_meta(path) -> dict:
    """The metadata of the checkpoint at `path` (the whole file is checked), loading
    nothing: to decide whether it fits before loading it."""
    return _meta(read_arrays(path), f"checkpoint '{os.fspath(path)}'")


def load_checkpoint(path, model, optimizer=None) -> dict:
    """Load model (and optimizer) state from `path`; returns the metadata dict.

    Everything is read and checked before anything is loaded; on any error the model and
    optimizer keep their previous state."""
    arrays = read_arrays(path)
    where = f"checkpoint '{os.fspath(path)}'"
    model_state = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    optim_state = {k[len("optimizer/"):]: v for k, v in arrays.items()
                   if k.startswith("optimizer/")}
    if not model_state:
        raise CheckpointError(f"{where}: holds no model state ('model/...' arrays)")
    if optimizer is not None and not optim_state:
        raise CheckpointError(f"{where}: holds no optimizer state ('optimizer/...' arrays)")
    meta = _meta(arrays, where)

    backup_model = model.state_dict()
    try:
        checked = optimizer.checked_state(optim_state, where) if optimizer is not None else None
        model.load_state_dict(model_state, source=where)
    except Exception as error:  # whatever went wrong, the model is put back as it was
        model.load_state_dict(backup_model)
        raise CheckpointError(str(error)) from None
    if optimizer is not None:
        optimizer.apply_state(checked)
    return meta
