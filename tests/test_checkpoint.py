"""Checkpoints: exact round trips, and every kind of bad file refused with nothing changed."""

import io
import json
import zipfile

import numpy as np
import pytest

import minigrad as mg
from attention.losses import cross_entropy
from attention.model import AttentionModel
from minigrad.io import CheckpointError, load_checkpoint, read_arrays, save_checkpoint, write_arrays
from minigrad.optim import Adam

IDS = np.array([[1, 2, 3, 4], [4, 3, 2, 1]])


def trained_model(seed=0):
    mg.manual_seed(seed)
    model = AttentionModel(6, 3, d_model=8, n_heads=2, positional="learned", max_len=4)
    opt = Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        cross_entropy(model(IDS), IDS % 3).backward()
        opt.step()
    return model, opt


def untrained(seed=2):
    """A model and optimizer to load into: cheaper than trained_model, same shapes."""
    mg.manual_seed(seed)
    model = AttentionModel(6, 3, d_model=8, n_heads=2, positional="learned", max_len=4)
    return model, Adam(model.parameters(), lr=0.01)


def snapshot(model):
    return {name: p.data.copy() for name, p in model.named_parameters()}


def assert_unchanged(model, before):
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name], err_msg=name)


def test_round_trip_gives_bit_identical_outputs_and_optimizer_state(tmp_path):
    model, opt = trained_model()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, model, opt, meta={"step": 3, "note": "hi"})
    fresh, fresh_opt = trained_model(seed=1)  # different weights to start with
    meta = load_checkpoint(path, fresh, fresh_opt)
    assert meta == {"step": 3, "note": "hi"}
    assert np.array_equal(fresh(IDS).data, model(IDS).data)
    assert fresh_opt.step_count == opt.step_count
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(fresh_opt.state_dict()[key], value, err_msg=key)


def _good_file(tmp_path):
    model, opt = trained_model()
    path = tmp_path / "good.npz"
    save_checkpoint(path, model, opt)
    return path


def _truncated(tmp_path):
    data = _good_file(tmp_path).read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _wrong_shape(tmp_path):
    other = AttentionModel(6, 3, d_model=16, n_heads=2, positional="learned", max_len=4)
    path = tmp_path / "wrong_shape.npz"
    save_checkpoint(path, other, Adam(other.parameters()))
    return path


def _pickled_object_array(tmp_path):
    # A well-formed .npz whose one member is an object array: loading it would unpickle.
    path = tmp_path / "pickled.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": "payload"}], dtype=object), allow_pickle=True)
    manifest = io.BytesIO()
    np.save(manifest, np.array(json.dumps(
        {"model/embed.weight": {"shape": [1], "dtype": "|O", "sha256": ""}})))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/embed.weight.npy", buffer.getvalue())
        archive.writestr("manifest.npy", manifest.getvalue())  # it claims to be complete
    return path


def _not_npz(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("this is a text file, not a checkpoint\n")
    return path


@pytest.mark.parametrize("make_bad, problem", [
    (_truncated, "truncated or corrupted"),
    (_wrong_shape, r"'embed.weight' has shape \(6, 16\), the model expects \(6, 8\)"),
    (_pickled_object_array, "pickled object array"),
    (_not_npz, r"not an \.npz archive"),
], ids=["truncated", "wrong-shape", "pickled-object", "not-npz"])
def test_bad_file_is_refused_by_name_and_changes_nothing(tmp_path, make_bad, problem):
    path = make_bad(tmp_path)
    model, opt = trained_model(seed=2)
    before, before_opt = snapshot(model), opt.state_dict()
    with pytest.raises(CheckpointError, match=problem) as info:
        load_checkpoint(path, model, opt)
    assert str(path) in str(info.value)  # the message names the file
    assert_unchanged(model, before)
    for key, value in before_opt.items():
        np.testing.assert_array_equal(opt.state_dict()[key], value)


def test_optimizer_mismatch_rolls_back_the_model_too(tmp_path):
    model, opt = trained_model()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, model, opt)
    target, _ = trained_model(seed=3)
    wrong_opt = Adam(target.parameters()[:2], lr=0.01)  # fewer parameters than saved
    before = snapshot(target)
    with pytest.raises(CheckpointError, match="names no parameter"):
        load_checkpoint(path, target, wrong_opt)
    assert_unchanged(target, before)


def test_missing_file_is_named(tmp_path):
    model, _ = trained_model()
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        load_checkpoint(tmp_path / "nowhere.npz", model)


def test_a_checkpoint_with_a_malformed_optimizer_step_leaves_everything_unchanged(tmp_path):
    mg.manual_seed(0)
    model = AttentionModel(5, 2, d_model=8)
    opt = Adam(model.parameters())
    path = tmp_path / "ck.npz"
    save_checkpoint(path, model, opt)
    arrays = read_arrays(path)
    arrays["optimizer/step"] = np.array([1, 2])
    write_arrays(path, arrays)  # a well-formed file, with a manifest, holding a bad step
    other = AttentionModel(5, 2, d_model=8)
    before = {k: v.copy() for k, v in other.state_dict().items()}
    with pytest.raises(CheckpointError, match="step array.*must be a non-negative integer"):
        load_checkpoint(path, other, Adam(other.parameters()))
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


# ---- damaged or doctored files: refused whole, by name, with nothing changed -----------------

def _saved(tmp_path):
    model, opt = trained_model()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, model, opt, meta={"step": 3})
    return path


def _refused(path, problem):
    model, opt = trained_model(seed=2)
    before, before_opt = snapshot(model), opt.state_dict()
    with pytest.raises(CheckpointError, match=problem) as info:
        load_checkpoint(path, model, opt)
    assert str(path) in str(info.value)
    assert_unchanged(model, before)
    for key, value in before_opt.items():
        np.testing.assert_array_equal(opt.state_dict()[key], value)


@pytest.mark.parametrize("key, value, problem", [
    ("optimizer/step", np.array("3"), "step array.*non-negative integer"),
    ("optimizer/step", np.array(3 + 1j), "step array.*non-negative integer"),
    ("optimizer/step", np.array(-1), "step array.*non-negative integer"),
    ("optimizer/step", np.array(np.inf), "step array.*non-negative integer"),
    ("optimizer/lr", np.array(np.nan), "lr array.*finite positive"),
    ("optimizer/lr", np.array(-0.1), "lr array.*finite positive"),
    ("optimizer/exp_avg.0", None, "finite floats"),
    ("optimizer/exp_avg_sq.0", None, "mean square is never negative"),
    ("optimizer/step.0", np.array(-2), "step count must be a non-negative integer"),
])
def test_doctored_optimizer_state_is_refused_before_anything_loads(tmp_path, key, value,
                                                                  problem):
    path = _saved(tmp_path)
    arrays = read_arrays(path)
    if value is None:  # a slot array of the right shape with a bad entry
        value = arrays[key].copy()
        value.flat[0] = np.nan if "exp_avg." in key else -1.0
    arrays[key] = value
    write_arrays(path, arrays)  # a well-formed file, manifest and all
    _refused(path, problem)


@pytest.mark.slow  # a fuzz over every bit: run by .ci/run
def test_every_single_bit_flip_in_the_zip_directory_is_refused_or_harmless(tmp_path):
    # A flipped bit in the archive's index can make a member vanish: the manifest notices
    # anything missing, and the zip CRCs and SHA-256 catch changed contents.
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    model, opt = trained_model()
    expected = snapshot(model)
    directory = data.rfind(b"PK\x05\x06")  # the end-of-central-directory record
    positions = list(range(directory, len(data))) + list(range(data.find(b"PK\x01\x02"),
                                                              directory, 97))
    for position in positions:
        for bit in (0, 5):
            damaged = tmp_path / "damaged.npz"
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            damaged.write_bytes(bytes(flipped))
            fresh, fresh_opt = untrained()
            try:
                load_checkpoint(damaged, fresh, fresh_opt)
            except CheckpointError:
                continue  # refused by name
            loaded = snapshot(fresh)  # loaded: then all of it, exactly
            for name, value in expected.items():
                np.testing.assert_array_equal(loaded[name], value, err_msg=f"byte {position}")


def test_a_member_missing_from_the_archive_is_named(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    del members["model/embed.weight.npy"]
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    _refused(path, r"1 member\(s\) missing, e.g. \['model/embed.weight'\]")


def test_a_header_declaring_a_huge_array_is_refused_without_allocating_it(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    header = members["model/embed.weight.npy"]
    members["model/embed.weight.npy"] = header.replace(b"(6, 8)", b"(600000, 800000)", 1)
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    _refused(path, "embed.weight")


def test_a_directory_and_an_encrypted_member_are_refused_by_name(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    model, opt = trained_model()
    with pytest.raises(CheckpointError, match="is a directory"):
        load_checkpoint(tmp_path / "dir.npz", model, opt)
    path = _saved(tmp_path)
    good = path.read_bytes()
    data = bytearray(good)
    data[data.find(b"PK\x01\x02") + 8] |= 1  # the first member's "encrypted" flag
    path.write_bytes(bytes(data))
    _refused(path, "truncated or corrupted|damaged")
    data = bytearray(good)
    data[data.find(b"PK\x01\x02") + 10] = 99  # a compression method no one implements
    path.write_bytes(bytes(data))
    _refused(path, "truncated or corrupted|damaged")


def test_a_failed_save_leaves_the_old_checkpoint_and_no_temporary_file(tmp_path):
    path = _saved(tmp_path)
    good = path.read_bytes()
    model, opt = trained_model()
    with pytest.raises(TypeError):
        save_checkpoint(path, model, opt, meta={"not json": object()})
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]  # no temporary file left


def test_a_save_that_fails_while_writing_leaves_the_old_checkpoint_and_no_temporary_file(
        tmp_path, monkeypatch):
    path = _saved(tmp_path)
    good = path.read_bytes()
    model, opt = trained_model()

    def half_then_full_disk(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", half_then_full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, model, opt)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]


def test_two_saves_to_one_path_at_once_leave_one_whole_checkpoint(tmp_path):
    # With one shared temporary name, one save's rename could take the other's half-written
    # file. Each save now writes a file of its own; the last rename wins, whole.
    import threading

    path = tmp_path / "ck.npz"
    models = [trained_model(seed) for seed in (1, 2)]
    failures = []

    def save_many(model, opt):
        try:
            for _ in range(30):
                save_checkpoint(path, model, opt, meta={"by": id(model)})
        except Exception as error:  # collected: a thread's exception would be lost
            failures.append(error)

    threads = [threading.Thread(target=save_many, args=pair) for pair in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    model, opt = trained_model()
    meta = load_checkpoint(path, model, opt)  # whole: every member matches its manifest
    assert meta["by"] in {id(m) for m, _ in models}
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]


def test_a_diverged_loss_is_saved_as_null_so_the_metadata_stays_json(tmp_path):
    model, opt = trained_model()
    save_checkpoint(tmp_path / "ck.npz", model, opt, meta={"history": [0.5, float("nan")]})
    assert load_checkpoint(tmp_path / "ck.npz", model, opt)["history"] == [0.5, None]


@pytest.mark.slow  # a fuzz over every bit: run by .ci/run
def test_bit_flips_in_every_array_header_are_refused_or_harmless(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    model, _ = trained_model()
    expected = snapshot(model)
    start = 0
    headers = []
    while (start := data.find(b"\x93NUMPY", start + 1)) != -1:
        headers.append(start)
    assert len(headers) > 10
    for header in headers:
        for position in range(header + 8, header + 70, 7):
            flipped = bytearray(data)
            flipped[position] ^= 1 << (position % 7)
            damaged = tmp_path / "damaged.npz"
            damaged.write_bytes(bytes(flipped))
            fresh, fresh_opt = untrained()
            try:
                load_checkpoint(damaged, fresh, fresh_opt)
            except CheckpointError:
                continue
            for name, value in snapshot(fresh).items():
                np.testing.assert_array_equal(value, expected[name])


@pytest.mark.parametrize("value, problem", [
    (lambda a: np.full(a.shape, 1e300), "not finite in float32"),
    (lambda a: np.ones(a.shape, dtype=np.int64), "has dtype int64, the model expects float32"),
    (lambda a: np.ones(a.shape, dtype=bool), "has dtype bool"),
    (lambda a: np.full(a.shape, np.nan), "not finite"),
])
def test_weights_that_would_be_silently_cast_are_refused(tmp_path, value, problem):
    import warnings

    path = _saved(tmp_path)
    arrays = read_arrays(path)
    arrays["model/head.bias"] = value(arrays["model/head.bias"])
    write_arrays(path, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a cast warning must not stop a load half-way
        _refused(path, problem)


@pytest.mark.parametrize("change, problem", [
    (lambda a: a.pop("optimizer/exp_avg_sq.3"), "a parameter's state comes whole"),
    (lambda a: a.__setitem__("optimizer/step.0", np.array(2**62)), "step count must be"),
    (lambda a: a.__setitem__("meta", np.array("[" * 100000 + "]" * 100000)),
     "metadata is not valid JSON"),
])
def test_inconsistent_state_and_pathological_metadata_are_refused(tmp_path, change, problem):
    path = _saved(tmp_path)
    arrays = read_arrays(path)
    change(arrays)
    write_arrays(path, arrays)
    _refused(path, problem)


def test_a_small_unsigned_step_count_loads_and_keeps_counting(tmp_path):
    path = _saved(tmp_path)
    arrays = read_arrays(path)
    for key in [k for k in arrays if k.startswith("optimizer/step.")]:
        arrays[key] = np.array(255, dtype=np.uint8)  # would wrap to 0 if kept as uint8
    write_arrays(path, arrays)
    model, opt = trained_model(seed=2)
    load_checkpoint(path, model, opt)
    opt.zero_grad()
    cross_entropy(model(IDS), IDS % 3).backward()
    opt.step()
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    assert int(opt.state["step"][0]) == 256


def test_numpy_numbers_in_the_metadata_are_saved_as_plain_numbers(tmp_path):
    # A config or metric computed with NumPy (np.int64 steps, an np.float32 loss) is what
    # json.dumps cannot write, and the save comes after the whole run has trained.
    model, opt = trained_model()
    meta = {"steps": np.int64(300), "loss": np.float32(0.25), "best": [np.float64(np.nan)]}
    save_checkpoint(tmp_path / "ck.npz", model, opt, meta=meta)
    loaded = load_checkpoint(tmp_path / "ck.npz", *untrained())
    assert loaded == {"steps": 300, "loss": 0.25, "best": [None]}
