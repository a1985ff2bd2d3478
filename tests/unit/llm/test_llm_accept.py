"""Only answers the caller accepts are stored: an empty, garbled or wrong-length answer is
returned (the scorer counts it) but asked again on the next run, never served from the cache."""

from saebench.llm import ChatReply, ChatRequest


def _requests(n):
    return [
        ChatRequest(
            messages=(("user", f'Explanation: "a{i}"\nExample 1: a{i}\nExample 2: b'),),
            purpose="detect",
        )
        for i in range(n)
    ]


def _two_labels(request, reply):
    """What a detection scorer accepts here: a list of exactly two 0/1 labels."""
    return reply.text in ("[1, 0]", "[0, 1]", "[0, 0]", "[1, 1]")


def test_a_rejected_answer_is_returned_but_asked_again_next_run(start_sim, make_client):
    server = start_sim(faults={"wrong_length": 0.5})
    first = make_client(server).chat(_requests(10), accept=_two_labels)
    assert all(isinstance(r, ChatReply) for r in first)
    rejected = [r for r in first if not _two_labels(None, r)]
    assert len(rejected) == server.stats()["faults"]["wrong_length"] >= 1
    sent = server.stats()["requests"]
    assert sent == 10  # a rejected answer is not retried: the scorer counts it

    again = make_client(server)  # a rerun (e.g. --no-resume): only the disk is shared
    replies = again.chat(_requests(10), accept=_two_labels)
    assert server.stats()["requests"] == sent + len(rejected)
    assert again.stats["cache_hits"] == 10 - len(rejected)
    assert [r.cached for r in replies] == [_two_labels(None, r) for r in first]


def test_garbage_is_stored_only_when_no_one_checks_it(start_sim, make_client, tmp_path):
    server = start_sim(faults={"garbage": 1.0})
    [reply] = make_client(server).chat(_requests(1), accept=_two_labels)
    assert isinstance(reply, ChatReply) and not _two_labels(None, reply)
    assert make_client(server).stats["rejected"] == 0
    client = make_client(server)
    client.chat(_requests(1), accept=_two_labels)
    assert server.stats()["requests"] == 2 and client.stats["rejected"] == 1
    assert not list((tmp_path / "llm-cache").rglob("*.json"))


def test_an_empty_answer_is_never_stored(start_sim, make_client, tmp_path):
    server = start_sim(faults={"blank": 1.0})
    [reply] = make_client(server).chat(_requests(1))  # no accept given: still not stored
    assert isinstance(reply, ChatReply) and reply.text == ""
    [again] = make_client(server).chat(_requests(1))
    assert not again.cached and server.stats()["requests"] == 2
    assert not list((tmp_path / "llm-cache").rglob("*.json"))


def test_without_accept_a_parsed_reply_is_still_stored(sim, make_client):
    make_client(sim).chat(_requests(3))
    replies = make_client(sim).chat(_requests(3))
    assert all(r.cached for r in replies) and sim.stats()["requests"] == 3
