# Bytewax 0.21.1's pytests/operators/test_enrich_cached.py, with
# bytewax -> flow.
#
# The stored copy's test_enrich_cached declares its mapper as
# `mapper(item, cache)`; 0.21.1's enrich_cached calls `mapper(cache,
# item)` (its docstring's example, icon_code_to_url(cache, msg)), so the
# mapper here takes them in that order.
from datetime import datetime, timedelta, timezone
from typing import List

import flow.operators as op
from flow.dataflow import Dataflow
from flow.operators import TTLCache
from flow.testing import TestingSink, TestingSource, TimeTestingGetter, run_main


def test_cache_get_init() -> None:
    source = TimeTestingGetter(datetime(2024, 5, 10, 10, 0, 0, tzinfo=timezone.utc))
    lookup = {
        "a": 1,
        "b": 2,
    }

    cache = TTLCache(lookup.get, source.get, ttl=timedelta(minutes=1))

    assert cache.get("a") == 1


def test_cache_get_cached() -> None:
    source = TimeTestingGetter(datetime(2024, 5, 10, 10, 0, 0, tzinfo=timezone.utc))
    lookup = {
        "a": 1,
        "b": 2,
    }

    cache = TTLCache(lookup.pop, source.get, ttl=timedelta(minutes=1))

    assert cache.get("a") == 1
    assert cache.get("a") == 1


def test_cache_get_expire() -> None:
    source = TimeTestingGetter(datetime(2024, 5, 10, 10, 0, 0, tzinfo=timezone.utc))
    lookup = {
        "a": 1,
        "b": 2,
    }

    cache = TTLCache(lookup.get, source.get, ttl=timedelta(minutes=1))

    assert cache.get("a") == 1

    source.advance(timedelta(minutes=2))
    lookup["a"] = 3

    assert cache.get("a") == 3


def test_enrich_cached() -> None:
    inp = ["a", "b", "a"]
    out: List[int] = []

    lookup = {
        "a": 1,
        "b": 2,
    }

    def mapper(cache: TTLCache, item: str) -> int:
        return cache.get(item)

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.enrich_cached("enrich", s, lookup.get, mapper)
    op.output("out", s, TestingSink(out))

    run_main(flow)
    assert out == [1, 2, 1]


def test_enrich_cached_docstring_example(capsys) -> None:
    # The example of enrich_cached's docstring.
    def query_icon_url_service(code):
        if code == "dog_ico":
            return "http://domain.invalid/static/dog_v1.png"
        elif code == "cat_ico":
            return "http://domain.invalid/static/cat_v2.png"
        elif code == "rabbit_ico":
            return "http://domain.invalid/static/rabbit_v1.png"

    flow = Dataflow("param_eg")
    inp = op.input(
        "inp",
        flow,
        TestingSource(
            [
                {"user_id": "1", "avatar_icon_code": "dog_ico"},
                {"user_id": "3", "avatar_icon_code": "rabbit_ico"},
                {"user_id": "2", "avatar_icon_code": "dog_ico"},
            ]
        ),
    )

    def icon_code_to_url(cache, msg):
        code = msg.pop("avatar_icon_code")
        msg["avatar_icon_url"] = cache.get(code)
        return msg

    with_urls = op.enrich_cached(
        "with_url",
        inp,
        query_icon_url_service,
        icon_code_to_url,
    )
    op.inspect("check_with_url", with_urls)

    run_main(flow)
    assert capsys.readouterr().out == (
        "param_eg.check_with_url: {'user_id': '1', "
        "'avatar_icon_url': 'http://domain.invalid/static/dog_v1.png'}\n"
        "param_eg.check_with_url: {'user_id': '3', "
        "'avatar_icon_url': 'http://domain.invalid/static/rabbit_v1.png'}\n"
        "param_eg.check_with_url: {'user_id': '2', "
        "'avatar_icon_url': 'http://domain.invalid/static/dog_v1.png'}\n"
    )
