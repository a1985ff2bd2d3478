"""What the CLI tests share: a model folder, an SAE folder and a text file on disk, and a way
to run the console entry point in-process."""

import pytest
from helpers import corpus, make_sae

from saebench.adapters.saelens import save_saelens
from saebench.models.load import save_model


@pytest.fixture(scope="session")
def files(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    save_model(tiny_model, root / "model")
    save_saelens(make_sae("topk", k=8), root / "sae")
    (root / "texts.txt").write_text("\n".join(corpus(300)))
    return root
