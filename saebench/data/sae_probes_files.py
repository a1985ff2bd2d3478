"""The labelled datasets of the PyPI wheel ``sae-probes`` (MIT; Kantamneni et al. 2025, "Are
Sparse Autoencoders Useful? A Case Study in Sparse Probing"), read from the installed
distribution's ``sae_probes/data/**/*.csv.zst`` files with ``zstandard``. The package itself
is never imported (it pulls in torch training code and sae-lens).

Each file is a CSV with a ``prompt`` column (the text) and a ``target`` column (the label;
some also hold ``prompt_len``). ``cleaned_data/`` holds the in-distribution datasets,
``OOD data/`` a few out-of-distribution test sets (``*_OOD``). A dataset is named by its
file name without the suffix (``"87_glue_cola"``); its *key* drops the number and makes the
rest snake_case (``"glue_cola"``), usable in metric names.

Install: ``pip install --no-deps sae-probes zstandard``.

Example:
    >>> names = dataset_names()                     # ["100_news_fake", ...]
    >>> rows = read_dataset("87_glue_cola")         # [("Our friends won't buy ...", "1"), ...]
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from pathlib import Path

from saebench.errors import SaebenchError

DISTRIBUTION = "sae-probes"
INSTALL = "pip install --no-deps sae-probes zstandard"
LICENCE = "MIT (the sae-probes package); each dataset keeps its original source's terms"
_SUFFIX = ".csv.zst"
_CATALOGUE = "probing_datasets_MASTER"  # the authors' sheet of sources, not a dataset


@lru_cache(maxsize=1)
def dataset_files() -> dict[str, Path]:
    """Every dataset file of the installed distribution, by name (``"87_glue_cola"``)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError:
        raise SaebenchError(
            f"the sae-probes datasets need the PyPI wheel {DISTRIBUTION!r}; install it with "
            f"`{INSTALL}`"
        ) from None
    files = {}
    for entry in dist.files or []:
        text = str(entry)
        if "/data/" in text and text.endswith(_SUFFIX):
            name = text.rsplit("/", 1)[-1][: -len(_SUFFIX)]
            # the OOD folder also holds a table of translations, not a dataset
            ood_folder = "/OOD data/" in text
            if name != _CATALOGUE and ood_folder == name.endswith("_OOD"):
                files[name] = Path(dist.locate_file(entry))
    if not files:
        raise SaebenchError(f"{DISTRIBUTION} is installed but holds no {_SUFFIX} files; reinstall")
    return files


def dataset_names(ood: bool | None = False) -> list[str]:
    """Dataset names sorted by their number; ``ood`` True: only the OOD test sets, None: all."""
    names = [n for n in dataset_files() if ood is None or n.endswith("_OOD") == bool(ood)]
    return sorted(names, key=lambda n: (_number(n), n))


def dataset_key(name: str) -> str:
    """The snake_case key of a dataset name: ``"145_disease_class_digestive system diseases"``
    -> ``"disease_class_digestive_system_diseases"``."""
    rest = re.sub(r"^\d+_", "", name)
    return re.sub(r"[^0-9a-z]+", "_", rest.lower()).strip("_")


def resolve_name(name: str) -> str:
    """A dataset's file name from its name or key, with a one-line error naming close ones."""
    files = dataset_files()
    if name in files:
        return name
    by_key = {dataset_key(n): n for n in files}
    if name in by_key:
        return by_key[name]
    import difflib

    close = difflib.get_close_matches(name, [*by_key, *files], n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise SaebenchError(
        f"sae-probes has no dataset {name!r}{hint} (list them with "
        "`saebench tasks show sae-probes --set datasets=all`)"
    )


@lru_cache(maxsize=64)
def read_dataset(name: str) -> tuple[tuple[str, str], ...]:
    """The (prompt, target) rows of dataset ``name`` (or its key), in file order."""
    path = dataset_files()[resolve_name(name)]
    text = _decompress(path)
    csv.field_size_limit(1 << 30)  # some prompts are whole articles
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"prompt", "target"} <= set(reader.fieldnames):
        raise SaebenchError(f"{path}: expected the columns prompt and target")
    return tuple((row["prompt"], row["target"]) for row in reader)


def _decompress(path: Path) -> str:
    try:
        import zstandard
    except ImportError as exc:
        raise SaebenchError(f"reading {path.name} needs zstandard: `{INSTALL}`") from exc
    with path.open("rb") as handle:
        data = zstandard.ZstdDecompressor().stream_reader(handle).read()
    return data.decode("utf-8")


def _number(name: str) -> int:
    head = name.split("_", 1)[0]
    return int(head) if head.isdigit() else 10**6
