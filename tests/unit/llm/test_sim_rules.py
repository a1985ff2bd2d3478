"""The simulated judge answers every purpose by the wire-format rules, over real HTTP."""

import json
import math
import urllib.request

import pytest

from saebench.llm import ChatReply, ChatRequest, LlmFailure, SurprisalRequest
from saebench.llm import sim as rules


def _ask(client, purpose, text, **kwargs):
    [reply] = client.chat([ChatRequest(messages=(("user", text),), purpose=purpose, **kwargs)])
    assert isinstance(reply, ChatReply), reply
    return reply


def test_explain_names_the_three_most_frequent_highlights_ties_first_seen():
    message = (
        "Example 1: the <<dog>> saw a <<cat>>\n"
        "Example 2: <<bird>> and <<cat>>\n"
        "Example 3: <<fish>> then <<dog>> (7)\n"
        "Example 4: << emu >>"
    )
    # cat 2, dog 2 (dog seen first), then bird, fish, emu tie at 1: bird is first seen
    assert rules.explain(message) == 'Explanation: "dog", "cat", "bird"'
    assert rules.explain("nothing marked").startswith("Explanation:")


def test_explain_over_http_reads_only_the_last_user_message(sim, make_client):
    client = make_client(sim)
    messages = (
        ("system", "demo: <<ignored>> <<ignored>>"),
        ("user", "Example 1: <<old>>"),
        ("assistant", 'Explanation: "old"'),
        ("user", "Example 1: the <<Paris>> and <<Rome>>\nExample 2: <<Paris>>"),
    )
    [reply] = client.chat([ChatRequest(messages=messages, purpose="explain")])
    assert reply.text == 'Explanation: "Paris", "Rome"'


def test_detect_is_a_whole_word_case_insensitive_match(sim, make_client):
    text = (
        'Explanation: "cat", "New York"\n'
        "Example 1: a CAT sat\n"
        "Example 2: categories are not cats\n"
        "Example 3: in new york today\n"
        "Example 4: nothing here"
    )
    assert _ask(make_client(sim), "detect", text).text == "[1, 0, 1, 0]"


def test_detect_logprobs_carry_both_labels(sim, make_client):
    text = 'Explanation: "cat"\nExample 1: cat\nExample 2: dog'
    reply = _ask(make_client(sim), "detect", text, logprobs=True, top_logprobs=2)
    labels = [t for t in reply.logprobs if t.token in ("0", "1")]
    assert [t.token for t in labels] == ["1", "0"]
    for token in labels:
        assert set(token.top) == {"0", "1"}
        assert token.top[token.token] == pytest.approx(math.log(0.9))
        assert token.top[str(1 - int(token.token))] == pytest.approx(math.log(0.1))
    assert "".join(t.token for t in reply.logprobs) == reply.text


def test_fuzz_needs_every_highlight_to_be_explained_and_at_least_one(sim, make_client):
    text = (
        'Explanation: "cat", "dog"\n'
        "Example 1: the <<cat>> and <<Dog>>\n"
        "Example 2: the <<cat>> and <<bird>>\n"
        "Example 3: cat and dog, none marked\n"
        "Example 4: a << cat >>"
    )
    assert _ask(make_client(sim), "fuzz", text).text == "[1, 0, 0, 1]"


def test_choose_picks_the_passage_with_more_occurrences_ties_a(sim, make_client):
    client = make_client(sim)
    head = 'Explanation: "rain"\n'
    assert _ask(client, "choose", head + "Passage A: rain\nPassage B: rain, Rain!").text == "B"
    assert _ask(client, "choose", head + "Passage A: rain\nPassage B: the rain").text == "A"
    assert _ask(client, "choose", head + "Passage A: sun\nPassage B: rainy").text == "A"


def test_usage_counts_whitespace_tokens(sim, make_client):
    client = make_client(sim)
    _ask(client, "detect", 'Explanation: "a"\nExample 1: a b\nExample 2: c')
    # prompt: 'Explanation:' '"a"' 'Example' '1:' 'a' 'b' 'Example' '2:' 'c' = 9; reply '[1,' '0]' = 2
    assert client.stats["prompt_tokens"] == 9
    assert client.stats["completion_tokens"] == 2


def test_surprisal_is_half_for_repeats_and_a_hundredth_for_new_tokens(sim, make_client):
    client = make_client(sim)
    [values] = client.surprisal([SurprisalRequest("The cat sat", " on the CAT")])
    assert values == pytest.approx([math.log(0.01), math.log(0.5), math.log(0.5)])
    pieces, offsets, logprobs = rules.prompt_logprobs("a b a ")
    assert pieces == ["a", " b", " a "] and offsets == [0, 1, 3]
    assert logprobs == [None, math.log(0.01), math.log(0.5)]
    # words compare without surrounding punctuation: an explanation's '"Cat",' repeats 'cat.'
    _, _, logprobs = rules.prompt_logprobs('the cat. Explanation: "Cat", "dog" , ,')
    assert logprobs == [None] + [math.log(0.01)] * 2 + [math.log(0.5), math.log(0.01)] + [
        math.log(0.01),
        math.log(0.5),
    ]
    assert client.supports_prompt_logprobs()


def test_no_prompt_logprobs_server_is_unsupported(start_sim, make_client):
    server = start_sim(prompt_logprobs=False)
    client = make_client(server)
    assert client.supports_prompt_logprobs() is False
    [result] = client.surprisal([SurprisalRequest("a", " b")])
    assert isinstance(result, LlmFailure) and result.kind == "unsupported"
    assert server.stats()["purposes"]["surprisal"] == 2  # no retries of a 404
    # the probe's answer is cached: a new client of the same server asks nothing
    again = make_client(server)
    assert again.supports_prompt_logprobs() is False
    assert server.stats()["requests"] == 2


def test_models_and_stats_endpoints(sim, make_client):
    make_client(sim).chat(
        [ChatRequest(messages=(("user", "Example 1: <<x>>"),), purpose="explain")]
    )
    with urllib.request.urlopen(sim.base_url + "/models") as response:
        models = json.load(response)
    assert models["data"][0]["id"] == rules.MODEL_NAME
    with urllib.request.urlopen(sim.base_url.removesuffix("/v1") + "/stats") as response:
        stats = json.load(response)
    assert stats["requests"] == 1 and stats["purposes"] == {"explain": 1}


def test_an_unknown_purpose_is_refused_not_retried(sim, make_client):
    client = make_client(sim)
    [reply] = client.chat([ChatRequest(messages=(("user", "hi"),), purpose="poem")])
    assert isinstance(reply, LlmFailure) and reply.kind == "refused"
    assert "400" in reply.message and sim.stats()["requests"] == 1
    assert client.stats["failures"] == {"refused": 1}


def test_bad_fault_tables_are_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        rules.check_faults({"boom": 0.1})
    with pytest.raises(ValueError, match="more than 1"):
        rules.check_faults({"429": 0.6, "500": 0.6})


def test_the_probe_is_per_server_under_one_model_name(start_sim, make_client):
    with_logprobs, chat_only = start_sim(), start_sim(prompt_logprobs=False)
    assert make_client(with_logprobs).supports_prompt_logprobs() is True
    assert make_client(chat_only).supports_prompt_logprobs() is False
    assert make_client(with_logprobs).supports_prompt_logprobs() is True  # from the cache
    assert with_logprobs.stats()["requests"] == 1 and chat_only.stats()["requests"] == 1
