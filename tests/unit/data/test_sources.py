"""data_source for every kind of dataset, and open_source of its spec here and in a fresh
process."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from saebench.data import DataSource, data_source, open_source
from saebench.errors import SaebenchError


def _error(value):
    with pytest.raises(SaebenchError) as caught:
        data_source(value)
    return str(caught.value)


def test_a_list_of_strings_is_inline_text():
    source = data_source(("first doc", "second doc"))
    assert (source.name, source.kind) == ("inline", "text")
    assert list(source.documents()) == ["first doc", "second doc"]
    assert source.fingerprint == data_source(["first doc", "second doc"]).fingerprint
    assert source.fingerprint != data_source(["first doc", "second doc!"]).fingerprint
    # Length-prefixed hashing: moving a boundary between documents changes the fingerprint.
    assert data_source(["ab", "c"]).fingerprint != data_source(["a", "bc"]).fingerprint


def test_a_list_of_id_lists_is_never_turned_into_strings():
    source = data_source([[1, 2, 3], (4, 5, 6)])
    assert (source.kind, source.row_length) == ("tokens", 3)
    assert [row for block in source.token_blocks() for row in block] == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(SaebenchError, match="holds token ids, not text"):
        source.documents()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["a doc", 7], "item 1 is an int, but item 0 makes it a list of strings (documents)"),
        ([[1, 2], "a doc"], "item 1 is a str, but item 0 makes it a list of token-id lists"),
        ([[1, 2], [3, 4.0]], "item 1 is a list holding a float"),
        ([[True, False]], "item 0 is a list holding a bool"),
        ([1, 2, 3], "item 0 is an int; pass a list of strings"),
        ([torch.arange(3)], "item 0 is a Tensor"),
        ([], "the dataset list is empty"),
        (3.5, "cannot use a float as a dataset"),
        ({"type": "sql"}, "unknown dataset spec type 'sql'"),
    ],
)
def test_inputs_that_are_neither_text_nor_ids_are_refused(value, message):
    assert message in _error(value)


def test_paths_that_are_not_dataset_files(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n")
    assert _error(str(tmp_path / "data.csv")).startswith(
        f"{tmp_path / 'data.csv'}: unsupported dataset file type '.csv'; use .txt"
    )
    assert (
        _error(str(tmp_path / "missing.jsonl"))
        == f"{tmp_path / 'missing.jsonl'}: dataset file not found"
    )
    assert _error(str(tmp_path / "missing.parquet")).endswith("dataset file not found")
    assert _error(str(tmp_path)).startswith(f"{tmp_path}: is a folder; pass a dataset file")
    assert _error(tmp_path / "missing").endswith("dataset file not found")  # a Path is a file


def test_the_zoo_text():
    source = data_source("zoo")
    assert (source.name, source.kind, source.spec) == ("zoo", "text", {"type": "zoo"})
    assert open_source(source.spec) == source
    assert len(list(source.documents())) > 1000


def test_specs_are_json_and_reopen_to_the_same_source(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    np.save(tmp_path / "ids.npy", np.arange(12).reshape(3, 4))
    for value in (
        str(tmp_path / "a.jsonl"),
        str(tmp_path / "ids.npy"),
        ["x", "y"],
        torch.ones(2, 2, dtype=torch.long),
    ):
        source = data_source(value)
        again = open_source(json.loads(json.dumps(source.spec)))
        assert again == source
        assert data_source(source.spec) == source
    assert data_source(source) is source


def test_open_source_refuses_data_that_changed(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("one\n")
    source = data_source(str(path))
    assert open_source(source.spec, fingerprint=source.fingerprint) == source
    path.write_text("one\ntwo\n")
    with pytest.raises(SaebenchError, match="'a.txt' changed since the run was planned"):
        open_source(source.spec, fingerprint=source.fingerprint)


_FRESH = """
import json, sys
from saebench.data import open_source
from saebench.errors import SaebenchError
for spec in json.loads(sys.argv[1]):
    try:
        source = open_source(spec)
        print(source.name, source.kind, source.fingerprint, sum(1 for _ in source.reader()))
    except SaebenchError as exc:
        print("error:", exc)
"""


def test_a_fresh_process_opens_file_specs_and_refuses_in_memory_ones(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    np.save(tmp_path / "ids.npy", np.arange(12).reshape(3, 4))
    sources = [
        data_source(str(tmp_path / "a.jsonl")),
        data_source(str(tmp_path / "ids.npy")),
        data_source(["in", "memory"]),
        data_source(torch.ones(2, 2, dtype=torch.long)),
    ]
    specs = json.dumps([s.spec for s in sources])
    done = subprocess.run(
        [sys.executable, "-c", _FRESH, specs], capture_output=True, text=True, cwd="/", check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == f"a.jsonl text {sources[0].fingerprint} 2"
    assert lines[1] == f"ids.npy tokens {sources[1].fingerprint} 1"  # one block of rows
    assert lines[2] == (
        "error: dataset 'inline' was passed as an in-memory object, which exists only in the "
        "process that made it; save it to a .txt (one document per line) or .jsonl (a 'text' "
        "field per line) file and pass the path"
    )
    assert lines[3].startswith("error: dataset 'inline' was passed as an in-memory object")
    assert "save it to a .pt, .npy or .safetensors file" in lines[3]


def test_a_data_source_can_be_built_directly():
    source = DataSource("mine", "abc", "text", {"type": "memory"}, lambda: iter(["a", "b"]))
    assert list(source.documents()) == ["a", "b"] == list(source.documents())
    assert hash(source) == hash(DataSource("mine", "abc", "text", {}, lambda: iter([])))


def test_resolving_text_loads_no_torch_numpy_or_datasets(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    code = (
        "import sys; from saebench.data import data_source; "
        f"data_source({str(tmp_path / 'a.txt')!r}); data_source(['a', 'b']); "
        "print(sorted(m for m in ('torch', 'numpy', 'datasets') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
