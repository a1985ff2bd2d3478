"""Token ids from .pt, .npy and .safetensors files and from tensors and arrays in memory."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from saebench.data import data_source, make_token_set
from saebench.errors import SaebenchError

IDS = torch.arange(24).view(4, 6)


class Payload:  # an arbitrary class, which weights_only loading must not unpickle
    pass


def _rows(path_or_value, n_tokens=24):
    return make_token_set(data_source(path_or_value), n_tokens=n_tokens).tokens


def _error(value):
    with pytest.raises(SaebenchError) as caught:
        data_source(value)
    return str(caught.value)


def test_each_file_type_gives_the_same_rows(tmp_path):
    torch.save(IDS, tmp_path / "a.pt")
    torch.save({"input_ids": IDS.int(), "attention_mask": torch.ones(4, 6)}, tmp_path / "b.pt")
    np.save(tmp_path / "c.npy", IDS.numpy().astype(np.uint16))
    save_file({"tokens": IDS, "lengths": torch.full((4,), 6)}, str(tmp_path / "d.safetensors"))
    save_file({"anything": IDS.to(torch.int32)}, str(tmp_path / "e.safetensors"))
    for name in ("a.pt", "b.pt", "c.npy", "d.safetensors", "e.safetensors"):
        source = data_source(str(tmp_path / name))
        assert (source.name, source.kind, source.row_length) == (name, "tokens", 6)
        assert source.spec == {"type": "file", "path": str((tmp_path / name).resolve())}
        assert torch.equal(_rows(str(tmp_path / name)), IDS), name


def test_files_of_many_blocks_are_read_in_order(tmp_path):
    ids = torch.arange(5000 * 3).view(5000, 3)  # more rows than one block of 4096
    np.save(tmp_path / "big.npy", ids.numpy())
    assert torch.equal(_rows(str(tmp_path / "big.npy"), n_tokens=3 * 4500), ids[:4500])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (torch.arange(6), r"must be 2-D \[n_contexts, context_size\], got shape \[6\] \(reshape"),
        (torch.zeros(2, 3, 4, dtype=torch.long), r"got shape \[2, 3, 4\]"),
        (torch.zeros(2, 3), "must be integers, got dtype torch.float32; cast them with .long()"),
        (torch.zeros(2, 3, dtype=torch.bool), "must be integers, got dtype torch.bool"),
        (np.zeros((2, 3)), "must be integers, got dtype float64"),
        (torch.zeros(0, 3, dtype=torch.long), r"the token ids are empty \(shape \[0, 3\]\)"),
    ],
)
def test_arrays_that_are_not_2d_integer_ids_are_refused(value, message):
    assert _error(value).startswith("the token-id array: ")
    with pytest.raises(SaebenchError, match=message):
        data_source(value)


def test_bad_files_are_refused_when_resolved(tmp_path):
    torch.save(torch.zeros(3, 4), tmp_path / "float.pt")
    assert _error(str(tmp_path / "float.pt")).startswith(
        f"{tmp_path / 'float.pt'}: token ids must be integers"
    )
    np.save(tmp_path / "flat.npy", np.arange(10))
    assert "got shape [10]" in _error(str(tmp_path / "flat.npy"))
    np.save(tmp_path / "objects.npy", np.array([[1], [2, 3]], dtype=object), allow_pickle=True)
    assert "cannot be read as token ids (ValueError: " in _error(str(tmp_path / "objects.npy"))
    save_file({"a": IDS, "b": IDS.clone()}, str(tmp_path / "two.safetensors"))
    assert "holds tensors 'a', 'b'; save one tensor" in _error(str(tmp_path / "two.safetensors"))
    torch.save({"a": IDS, "b": IDS}, tmp_path / "two.pt")
    assert "holds tensors 'a', 'b'" in _error(str(tmp_path / "two.pt"))
    torch.save([IDS], tmp_path / "list.pt")
    assert "holds a list, expected a tensor of token ids" in _error(str(tmp_path / "list.pt"))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    assert "cannot be read as token ids" in _error(str(tmp_path / "junk.safetensors"))


def test_pickled_objects_are_not_unpickled(tmp_path):
    torch.save(Payload(), tmp_path / "pickle.pt")
    assert "cannot be read as token ids (UnpicklingError" in _error(str(tmp_path / "pickle.pt"))


def test_the_same_ids_in_any_container_share_a_fingerprint():
    tensor = data_source(IDS)
    assert tensor.fingerprint == data_source(IDS.numpy().astype(np.int32)).fingerprint
    assert tensor.fingerprint == data_source(IDS.tolist()).fingerprint
    changed = IDS.clone()
    changed[3, 5] = 99
    assert data_source(changed).fingerprint != tensor.fingerprint
    assert data_source(IDS[:, :5]).fingerprint != tensor.fingerprint
