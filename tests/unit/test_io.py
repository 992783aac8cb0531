"""Parameter files: formats from the bytes, safe reading, reports, all-or-nothing loading."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile

import pytest
import safetensors.torch
import torch

from layerlab.config import Limits
from layerlab.errors import FileContentError, FileFormatError, LimitError
from layerlab.io import detect_format, inspect_file, load_state_dict, read_tensors, save_state_dict
from tests.specs import SEED_NET, TIED_NET


def snapshot(net):
    return {k: v.clone() for k, v in net.module.state_dict().items()}


def same(net, saved) -> bool:
    return all(torch.equal(v, saved[k]) for k, v in net.module.state_dict().items())


class Touch:
    """A pickle that would create a file when unpickled by an unsafe loader."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_malicious_pickle_is_never_executed(tmp_path, make_net, limits):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pt"
    torch.save({"0.weight": Touch(marker)}, bad)
    with pytest.raises(FileContentError, match="weights only"):
        read_tensors(bad, limits)
    net = make_net(SEED_NET)
    before = snapshot(net)
    with pytest.raises(FileContentError):
        load_state_dict(net, bad, limits)
    assert not marker.exists() and same(net, before)


def test_a_raw_pickle_is_not_a_supported_format(tmp_path, limits):
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(FileFormatError, match="legacy"):
        read_tensors(raw, limits)
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(FileFormatError):
        read_tensors(tmp_path / "text.pt", limits)


def test_format_comes_from_the_bytes_not_the_name(tmp_path, make_net, limits):
    net = make_net(SEED_NET)
    misnamed = tmp_path / "weights.pt"
    save_state_dict(net, misnamed, "safetensors")
    assert read_tensors(misnamed, limits)[0] == "safetensors"
    buffer = io.BytesIO()
    save_state_dict(net, buffer, "pt")
    assert detect_format(buffer.getvalue()[:16]) == "pt"


def test_an_archive_that_unpacks_too_large_is_refused_unread(tmp_path, limits):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(10_000)}, path)
    with pytest.raises(LimitError) as caught:
        read_tensors(path, Limits(max_unpack_bytes=20_000))
    assert caught.value.limit == "max_unpack_bytes"
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * 5_000_000)  # compresses to a few kB
    assert bomb.stat().st_size < 50_000
    with pytest.raises(LimitError):
        read_tensors(bomb, Limits(max_unpack_bytes=1_000_000))


def test_a_tensor_declaring_more_elements_than_its_storage_is_refused(tmp_path):
    path = tmp_path / "stride0.pt"
    torch.save({"w": torch.zeros(1).expand(50_000_000)}, path)  # one float of storage
    assert path.stat().st_size < 10_000
    with pytest.raises(FileContentError, match="expanded or overlapping"):
        read_tensors(path, Limits())
    big = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(2_000_000)}, big)
    with pytest.raises(LimitError) as caught:
        read_tensors(big, Limits(max_file_elements=1_000_000))
    assert caught.value.limit == "max_file_elements"


def test_sparse_tensors_are_refused(tmp_path):
    path = tmp_path / "sparse.pt"
    torch.save({"w": torch.eye(3).to_sparse()}, path)
    with pytest.raises(FileContentError, match="only dense"):
        read_tensors(path, Limits())


def test_a_safetensors_header_is_checked_before_loading(tmp_path):
    header = b'{"w": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 4]}}'
    path = tmp_path / "liar.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0\0\0")
    with pytest.raises(LimitError):
        read_tensors(path, Limits(max_file_elements=1000))
    small = b'{"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4]}}'
    path.write_bytes(struct.pack("<Q", len(small)) + small + b"\0\0\0\0")
    with pytest.raises(FileContentError):
        read_tensors(path, Limits())


def test_deep_nesting_is_limited(tmp_path):
    nested: list = [torch.zeros(1)]
    for _ in range(40):
        nested = [nested]
    path = tmp_path / "deep.pt"
    torch.save(nested, path)
    with pytest.raises(LimitError) as caught:
        read_tensors(path, Limits(max_file_depth=32))
    assert caught.value.limit == "max_file_depth"


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_files_round_trip_with_ties(tmp_path, make_net, limits, fmt):
    net, other = make_net(TIED_NET, seed=1), make_net(TIED_NET, seed=2)
    path = tmp_path / f"tied.{fmt}"
    save_state_dict(net, path, fmt)
    report = load_state_dict(other, path, limits)
    assert report["loaded"] == list(net.module.state_dict()) and not report["missing"]
    assert same(other, snapshot(net)) and other.module[2].weight is other.module[4].weight
    plain = torch.load(path, weights_only=True) if fmt == "pt" else safetensors.torch.load_file(str(path))
    assert torch.equal(plain["2.weight"], plain["4.weight"])


def test_strict_failure_reports_and_changes_nothing(tmp_path, make_net, limits):
    net = make_net(TIED_NET)
    state = {k: v.clone() + 1 for k, v in net.module.state_dict().items()}
    del state["0.bias"]
    state["6.weight"] = torch.zeros(2, 8)
    state["extra"] = torch.zeros(1)
    state["4.weight"] = state["2.weight"] + 1
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    before = snapshot(net)
    with pytest.raises(FileContentError) as caught:
        load_state_dict(net, path, limits, strict=True)
    detail = caught.value.detail
    assert detail["missing"] == ["0.bias"] and detail["unexpected"] == ["extra"]
    assert detail["mismatched"] == [{"key": "6.weight", "expected": [1, 8], "got": [2, 8]}]
    assert detail["tied_conflicts"][0]["keys"] == ["2.weight", "4.weight"]
    assert same(net, before)

    report = load_state_dict(net, path, limits, strict=False)
    assert "0.weight" in report["loaded"] and "6.weight" not in report["loaded"]
    assert torch.equal(net.module[0].weight, before["0.weight"] + 1)
    assert torch.equal(net.module[0].bias, before["0.bias"]) and torch.equal(net.module[6].weight, before["6.weight"])
    assert torch.equal(net.module[4].weight, before["2.weight"] + 1)  # the first key of a conflict is used


def test_a_tied_key_may_be_absent_and_dtypes_convert(tmp_path, make_net, limits):
    net = make_net(TIED_NET)
    state = {k: v.double() for k, v in net.module.state_dict().items() if not k.startswith("4.")}
    path = tmp_path / "dedup.safetensors"
    safetensors.torch.save_file(state, str(path))
    report = load_state_dict(make_net(TIED_NET), path, limits)
    assert report["missing"] == [] and {c["key"] for c in report["converted"]} == set(state)


def test_inspect_the_guides_files(tmp_path, limits):
    x, y = torch.arange(4), torch.zeros(4)
    torch.save([x, y], tmp_path / "x-files")
    tree = inspect_file(tmp_path / "x-files", limits)["root"]
    assert tree["kind"] == "list" and [i["shape"] for i in tree["items"]] == [[4], [4]]
    assert tree["items"][0]["dtype"] == "int64" and tree["items"][0]["stats"]["mean"] == 1.5
    torch.save({"x": x, "y": y, "meta": (1, "a")}, tmp_path / "mydict")
    tree = inspect_file(tmp_path / "mydict", limits)["root"]
    assert tree["kind"] == "dict" and tree["items"]["y"]["stats"]["zero_fraction"] == 1.0
    assert tree["items"]["meta"] == {"kind": "tuple", "items": [{"kind": "scalar", "value": 1},
                                                                {"kind": "scalar", "value": "a"}]}
