""".txt and .jsonl files: read one document (or row) per line, refused with PATH:LINE when a
line is not UTF-8, not JSON, or not what is expected, as soon as the source is resolved."""

import json

import pytest

from saebench.data import data_source
from saebench.errors import SaebenchError


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _error(path):
    with pytest.raises(SaebenchError) as caught:
        data_source(str(path))
    return str(caught.value)


def test_txt_is_one_document_per_line_without_blank_lines(tmp_path):
    path = _write(tmp_path, "a.txt", "\ufefffirst doc\r\n\n  \nsecond doc\n")
    source = data_source(str(path))
    assert (source.name, source.kind, source.row_length) == ("a.txt", "text", None)
    assert list(source.documents()) == ["first doc", "second doc"]


def test_jsonl_text_and_token_columns(tmp_path):
    text = _write(tmp_path, "t.jsonl", '{"text": "one", "id": 1}\n\n{"text": "two"}\n')
    tokens = _write(tmp_path, "i.jsonl", '{"input_ids": [1, 2]}\n{"input_ids": [3, 4, 5]}\n')
    assert list(data_source(str(text)).documents()) == ["one", "two"]
    source = data_source(str(tokens))
    assert source.kind == "tokens" and source.spec["column"] == "input_ids"
    assert source.row_length == 2  # the first row's, which a context size defaults to
    assert [row for block in source.token_blocks() for row in block] == [[1, 2], [3, 4, 5]]


@pytest.mark.parametrize("name", ["latin1.txt", "latin1.jsonl"])
def test_latin1_is_refused_with_its_line(tmp_path, name):
    line = '{"text": "caf\xe9"}' if name.endswith("jsonl") else "caf\xe9"
    path = _write(tmp_path, name, b'{"text": "ok"}\n' + line.encode("latin-1") + b"\n")
    message = _error(path)
    assert message.startswith(f"{path}:2: not UTF-8 text (byte 0xe9 at offset ")
    assert message.endswith("convert the file to UTF-8")


def test_binary_is_refused(tmp_path):
    assert _error(_write(tmp_path, "b.txt", bytes(range(256)))).startswith(
        f"{tmp_path / 'b.txt'}:1: not UTF-8 text (a NUL byte"
    )
    assert ":1: not UTF-8 text (byte 0x89" in _error(_write(tmp_path, "png.txt", b"\x89PNG\r\n"))


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('{"text": 42}', "'text' is a number (42), expected a string"),
        ('{"text": null}', "'text' is null, expected a string"),
        ('{"text": ["a", "b"]}', "'text' is a list, expected a string"),
        ('{"text": {"body": "a"}}', "'text' is an object, expected a string"),
        ('{"text": true}', "'text' is a boolean (true), expected a string"),
        ('["a", "b"]', "found a list, expected a JSON object"),
        ('"just a string"', "found a string, expected a JSON object"),
        ("{'text': 'single quotes'}", "not valid JSON (Expecting property name"),
        ('{"body": "no text"}', "an object with 'body' but no 'text' field"),
        ('{"input_ids": [1, 2.5]}', "item 1 of 'input_ids' is a number (2.5), expected an integer"),
        ('{"input_ids": "1 2 3"}', "'input_ids' is a string, expected a list of integer token ids"),
        ('{"tokens": [1, true]}', "item 1 of 'tokens' is a boolean (true)"),
    ],
)
def test_bad_jsonl_lines_are_named_with_their_line(tmp_path, line, found):
    path = _write(tmp_path, "bad.jsonl", "\n \n" + line + '\n{"text": "fine"}\n')
    assert _error(path).startswith(f"{path}:3: {found}")


def test_a_line_switching_column_is_refused(tmp_path):
    path = _write(tmp_path, "mixed.jsonl", '{"input_ids": [1, 2]}\n{"text": "two"}\n')
    assert _error(path) == (
        f"{path}:2: no 'input_ids' field; every line must have the field the first line has "
        "('input_ids')"
    )


def test_errors_come_at_resolution_before_any_document_is_read(tmp_path):
    rows = [json.dumps({"text": f"doc {i}"}) for i in range(1000)] + ['{"text": 7}']
    path = _write(tmp_path, "late.jsonl", "\n".join(rows) + "\n")
    assert _error(path).startswith(f"{path}:1001: 'text' is a number (7)")


@pytest.mark.parametrize(
    ("name", "data", "what"),
    [
        ("empty.txt", "", "the file is empty"),
        ("blank.txt", "\n  \n\n", "the file holds only blank lines"),
        ("empty.jsonl", "", "the file is empty"),
    ],
)
def test_files_without_documents_are_refused(tmp_path, name, data, what):
    path = _write(tmp_path, name, data)
    assert _error(path) == f"{path}: {what}, so it gives no documents"


def test_the_fingerprint_is_of_the_bytes(tmp_path):
    first = data_source(str(_write(tmp_path, "a.txt", "one\ntwo\n"))).fingerprint
    same = data_source(str(_write(tmp_path, "b.txt", "one\ntwo\n"))).fingerprint
    blank_added = data_source(str(_write(tmp_path, "c.txt", "one\n\ntwo\n"))).fingerprint
    assert first == same != blank_added
