"""Prompt batches: right padding, span positions and answers, word-level and byte-level BPE."""

import pytest
import torch

from saebench.errors import SaebenchError
from saebench.models.prompts import Prompt, make_batch, token_id

SENTENCES = [
    "The city of Paris lies in France.",
    "Kyoto is a city in Japan.",
    "People in Paris speak French.",
    "People in Kyoto speak Japanese.",
    "The town of Lyon is in France.",
]


@pytest.fixture(scope="module")
def bpe():
    """A GPT-2 style byte-level BPE tokenizer trained here on a few sentences."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator(SENTENCES * 10, trainer)
    special = "<|endoftext|>"
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token=special, eos_token=special, pad_token=special
    )


def _span(text: str, word: str, space: bool = False) -> tuple[int, int]:
    start = text.index(word)
    return (start - 1 if space else start), start + len(word)


def test_word_level_batch_matches_the_model_tokens_and_pads_right(zoo_model):
    texts = ["As everyone knows, Kyoto is a city in the country of", "Kyoto is in"]
    prompts = [Prompt(t, {"entity": _span(t, "Kyoto")}, answer="Japan") for t in texts]
    batch = make_batch(zoo_model, prompts)
    for row, text in enumerate(texts):
        alone = zoo_model.to_tokens(text)[0]
        assert torch.equal(batch.tokens[row, : len(alone)], alone)
        assert batch.lengths[row] == len(alone)
        kyoto = alone.tolist().index(zoo_model.to_single_token("Kyoto"))
        assert batch.first("entity")[row] == batch.last("entity")[row] == kyoto
    assert batch.attention_mask[1].tolist() == [1] * 4 + [0] * (batch.tokens.shape[1] - 4)
    assert batch.ends.tolist() == [batch.tokens.shape[1] - 1, 3]
    assert batch.answer_ids[:, 0].tolist() == [zoo_model.to_single_token("Japan")] * 2


def test_multiword_answers_and_select(zoo_model):
    prompts = [
        Prompt("Kyoto is a city on the continent of", answer="Asia"),
        Prompt("Toronto is a city on the continent of", answer="North America"),
    ]
    batch = make_batch(zoo_model, prompts, prepend_bos=False)
    assert batch.answer_lengths.tolist() == [1, 1]  # the zoo keeps "North America" whole
    assert batch.tokens[0, 0] == zoo_model.to_single_token("Kyoto")
    one = batch.select([1])
    assert one.tokens.shape == (1, int(batch.lengths[1])) and one.prompts == (prompts[1],)
    assert [len(b) for b in batch.chunks(1)] == [1, 1]
    assert token_id(zoo_model, "Asia") == batch.answer_ids[0, 0]


def test_bpe_spans_split_across_tokens_and_leading_spaces(bpe):
    text = "People in Kyoto speak"
    ids = bpe(text, add_special_tokens=False)["input_ids"]
    pieces = bpe.convert_ids_to_tokens(ids)
    assert len(pieces) > 4  # "Kyoto" is cut into several tokens here
    with_space = make_batch(bpe, [Prompt(text, {"e": _span(text, "Kyoto", space=True)})])
    without = make_batch(bpe, [Prompt(text, {"e": _span(text, "Kyoto")})])
    assert torch.equal(with_space.spans["e"], without.spans["e"])
    first, last = (int(v) for v in without.spans["e"][0])
    word = bpe.convert_tokens_to_string(bpe.convert_ids_to_tokens(ids[first - 1 : last]))
    assert word.strip() == "Kyoto"  # BOS shifts positions by one
    assert without.tokens[0, 0] == bpe.bos_token_id


def test_bpe_answers_are_tokenised_in_context(bpe):
    text = "People in Kyoto speak"
    batch = make_batch(bpe, [Prompt(text, answer="Japanese"), Prompt(text, answer=" Japanese")])
    assert torch.equal(batch.answer_ids[0], batch.answer_ids[1])
    joint = bpe(text + " Japanese", add_special_tokens=False)["input_ids"]
    assert batch.answer_ids[0].tolist() == joint[len(bpe(text)["input_ids"]) :]
    with pytest.raises(SaebenchError, match="continuation"):
        make_batch(bpe, [Prompt(text + " ", answer="Japanese")])


def test_bad_spans_and_mixed_prompts_are_refused(bpe):
    text = "People in Kyoto speak"
    with pytest.raises(SaebenchError, match="covers no token"):
        make_batch(bpe, [Prompt(text, {"gap": (6, 7)})])
    with pytest.raises(SaebenchError, match="not a span"):
        make_batch(bpe, [Prompt(text, {"e": (5, 100)})])
    with pytest.raises(SaebenchError, match="same spans"):
        make_batch(bpe, [Prompt(text, {"e": (0, 6)}), Prompt(text)])
    with pytest.raises(SaebenchError, match="no span 'x'"):
        make_batch(bpe, [text]).last("x")
