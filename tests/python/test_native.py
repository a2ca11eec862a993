# SPDX-License-Identifier: LGPL-2.1-or-later
"""The native fast path (the native fast path) against the pure-Python reference.

Each operator is run twice on the same input, once through the native fast path's C
callbacks and once through the override's pure-Python GI callbacks, and the
outputs must be equal; the conversions must give the very same GVariants as
Flow.to_variant / Flow.from_variant; exceptions must carry the same message
and come back from run(); and references must not leak.
"""

import collections
import datetime
import decimal
import fractions
import gc
import os
import signal
import sys
import threading
import weakref

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow, Gio, GLib  # noqa: E402

_native = pytest.importorskip("gi.overrides._flow_native",
                              reason="gi.overrides._flow_native is not built")
import gi.overrides.Flow as override  # noqa: E402

Point = collections.namedtuple("Point", "x y")

# Runner.run() of the override re-raises the exceptions the native fast path stashed
# only when the override uses the native fast path (not with FLOW_PYTHON_NATIVE=0).
needs_override_native = pytest.mark.skipif(
    override._native is None, reason="the override does not use the native fast path")


class Custom:
    def __init__(self, a):
        self.a = a

    def __eq__(self, other):
        return type(other) is Custom and other.a == self.a

    def __repr__(self):
        return f"Custom({self.a!r})"


class IntSub(int):
    pass


class StrSub(str):
    pass


VALUES = [
    0, 1, -5, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**100, IntSub(3),
    1.5, -0.0, float("inf"), 1e300,
    "", "text", "héllo wörld ✓", "nul\x00inside", "lone \udcff surrogate", StrSub("s"),
    True, False, None,
    b"", b"raw\x00bytes\xff", bytearray(b"ab\x00"),
    ("key", 12), ("key", None), ("key", ("inner", [1, 2])), ("nul\x00key", 1), (StrSub("k"), 1),
    (), ("only",), (1, "a", 2.5), (None, None), Point(1, 2), Point("x", 2),
    [], [1, "a", None, [2, 3]], [[[[1]]]], list(range(100)),
    {}, {"a": 1, "b": [1, 2], "c": {"d": None}}, {1: "one", -2: "minus two"},
    {True: 1, False: 0}, {1.5: "x"}, {1: "int", "a": "mixed"}, {2**70: "big"},
    {(1, 2): "tuple key"}, {"nul\x00": 1}, {IntSub(1): 2},
    collections.OrderedDict(a=1), Custom([1, 2]), complex(1, 2),
    datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc),
    decimal.Decimal("1.10"), fractions.Fraction(1, 3), {1, 2, 3}, frozenset({"a"}),
    GLib.Variant("u", 7), GLib.Variant("a{sv}", {"x": GLib.Variant("i", 1)}),
    [GLib.Variant("q", 3), ("k", GLib.Variant("s", "v"))],
]


def same_variant(a, b):
    return a.get_type_string() == b.get_type_string() and a.equal(b)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_to_variant_is_the_reference(value):
    reference = Flow.to_variant(value)
    native = _native.to_variant(value)
    assert isinstance(native, GLib.Variant)
    assert same_variant(native, reference), (native, reference)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_from_variant_is_the_reference(value):
    v = Flow.to_variant(value)
    reference = Flow.from_variant(v)
    native = _native.from_variant(v)
    assert type(native) is type(reference)
    assert repr(native) == repr(reference)


@pytest.mark.parametrize("variant", [
    GLib.Variant("y", 200), GLib.Variant("n", -3), GLib.Variant("q", 3),
    GLib.Variant("i", -7), GLib.Variant("u", 7), GLib.Variant("x", -(2**63)),
    GLib.Variant("t", 2**64 - 1), GLib.Variant("h", 3), GLib.Variant("d", 0.25),
    GLib.Variant("o", "/org/gnome/Flow"), GLib.Variant("g", "a{sv}"),
    GLib.Variant("v", GLib.Variant("s", "boxed")), GLib.Variant("v", GLib.Variant("v", GLib.Variant("b", True))),
    GLib.Variant("mi", 5), GLib.Variant("mi", None), GLib.Variant("mmi", None),
    GLib.Variant("ms", "x"), GLib.Variant("mv", GLib.Variant("i", 1)),
    GLib.Variant("ai", [1, 2]), GLib.Variant("ax", []), GLib.Variant("ax", [1, -2, 2**62]),
    GLib.Variant("ad", [0.5]), GLib.Variant("ab", [True, False]), GLib.Variant("as", ["a", "b"]),
    GLib.Variant("aay", [b"a", b"b"]), GLib.Variant("ay", b""), GLib.Variant("aax", [[1], [2, 3]]),
    GLib.Variant("a{si}", {"a": 1}), GLib.Variant("a{is}", {1: "a"}),
    GLib.Variant("a{sa{sv}}", {"a": {"b": GLib.Variant("i", 1)}}),
    GLib.Variant("a{ys}", {1: "a"}), GLib.Variant("a{ov}", {"/a": GLib.Variant("i", 1)}),
    GLib.Variant("(is)", (1, "a")), GLib.Variant("()", ()), GLib.Variant("((ii)s)", ((1, 2), "x")),
    GLib.Variant("(ssay)", ("not-pickle", "x", b"y")), GLib.Variant("(sv)", ("k", GLib.Variant("i", 1))),
    GLib.Variant("{sv}", ("k", GLib.Variant("i", 1))), GLib.Variant("a(sv)", [("k", GLib.Variant("i", 1))]),
])
def test_variants_made_elsewhere(variant):
    reference = Flow.from_variant(variant)
    native = _native.from_variant(variant)
    assert type(native) is type(reference)
    assert repr(native) == repr(reference)


def _serialised(variant, trusted=True):
    # The variant as libflow's sinks get it: from bytes, not a tree.
    return GLib.Variant.new_from_bytes(variant.get_type(), variant.get_data_as_bytes(), trusted)


KEYED = [
    ("k", "v"), ("", ""), ("k", 2**63 - 1), ("k", -(2**63)), ("k", 0.1), ("k", float("-inf")),
    ("k", True), ("k", False), ("ключ", "значение ✓"), ("k" * 300, "v"), ("k", "v" * 70000),
    ("k" * 70000, 7), ("k", None), ("k", [1, "a"]), ("k", ("inner", 1)), ("k", b"\x00\xff"),
    ("k", GLib.Variant("i", -3)), ("k", GLib.Variant("u", 3)), ("k", GLib.Variant("t", 2**64 - 1)),
    ("k", GLib.Variant("y", 1)), ("k", GLib.Variant("o", "/a")), ("k", Custom(1)),
]


@pytest.mark.parametrize("item", KEYED, ids=lambda i: repr(i)[:40])
def test_serialised_keyed_items_convert_as_the_reference(item):
    # Keyed items straight from their bytes (the native fast path for
    # `(sv)` with a string, int64, double or boolean value) are what the
    # generic conversion gives.
    v = _serialised(Flow.to_variant(item))
    assert v.get_type_string() == "(sv)"
    reference = override._py_from_variant(v)
    native = _native.from_variant(v)
    assert type(native) is tuple and type(native[1]) is type(reference[1])
    assert repr(native) == repr(reference)


@pytest.mark.parametrize("data", [
    b"k\x00\x00\x00\x00\x00\x00\x00\xff\xfe\x00s\x02",     # a value that is not UTF-8
    b"\xffk\x00\x00\x00\x00\x00\x00v\x00\x00s\x03",         # a key that is not UTF-8
    b"k\x00\x00\x00\x00\x00\x00\x00\x01\x02\x00x\x02",     # an int64 of two bytes
    b"k\x00\x00\x00\x00\x00\x00\x00\x07\x00b\x02",         # a boolean of 7
    b"k\x00\x00\x00\x00\x00\x00\x00v\x00\x00s\x63",         # an offset past the end
    b"k\x00\x00\x00\x00\x00\x00\x00v\x00\x00s\x00",         # an offset of zero
    b"\x00\x00\x00", b"",
], ids=range(8))
def test_serialised_keyed_items_not_in_normal_form(data):
    # Bytes that are not a valid `(sv)` (untrusted): the same result as
    # the generic path gives for GLib's reading of them.
    v = GLib.Variant.new_from_bytes(GLib.VariantType("(sv)"), GLib.Bytes.new(data), False)
    reference = override._py_from_variant(v)
    native = _native.from_variant(v)
    assert repr(native) == repr(reference)


@pytest.mark.parametrize("items", [
    ["a"], ["", ""], ["line %d" % i for i in range(10)], ["x" * 300, "y"],
    ["l%d" % i for i in range(20000)], ["é✓", "", "tab\t"], ["z" * 70000] * 2,
    ["ok", "nul\x00inside"], ["ok", 1], ["ok", StrSub("s")],
], ids=lambda items: f"{len(items)} items, {sum(map(len, map(str, items)))} chars")
def test_str_lists_serialise_as_the_reference(items):
    # A list of str is written straight into its serialised `av`: the very
    # bytes GLib makes of the boxed strings (the same fingerprints, states).
    native = _native.to_variant(items)
    reference = override._py_to_variant(items)
    assert native.get_type_string() == reference.get_type_string() == "av"
    assert native.get_data_as_bytes().get_data() == reference.get_data_as_bytes().get_data()
    assert native.is_normal_form()
    assert repr(_native.from_variant(native)) == repr(override._py_from_variant(reference))


def test_from_variant_none_and_errors():
    assert _native.from_variant(None) is None
    with pytest.raises(TypeError):
        _native.from_variant(42)


def test_variant_passes_through():
    v = GLib.Variant("u", 7)
    assert _native.to_variant(v) is v


def test_unpicklable_value_is_the_same_type_error():
    with pytest.raises(TypeError) as reference:
        Flow.to_variant(lambda x: x)
    with pytest.raises(TypeError) as native:
        _native.to_variant(lambda x: x)
    assert str(native.value) == str(reference.value)
    assert native.value.__cause__ is not None


def test_deep_nesting_raises_recursion_error():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        _native.to_variant(deep)


def test_a_list_that_contains_itself_raises():
    loop = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        _native.to_variant(loop)


# ---------------------------------------------------------------------------
# Every operator, native against pure Python
# ---------------------------------------------------------------------------

def run_impl(ops, items, build, runner="run", batch_size=3):
    """Runs items -> build(ops, stream) -> TestingSink(s) with the operator
    implementations ``ops`` (name -> fn(stream, step_id, *functions))."""
    flow = Flow.Dataflow("t")
    stream = flow.input("inp", Flow.TestingSource(items, batch_size=batch_size))
    out = build(ops, stream)
    outs = out if isinstance(out, tuple) else (out,)
    sinks = []
    for i, s in enumerate(outs):
        sink = Flow.TestingSink()
        s.output(f"out{i}", sink)
        sinks.append(sink)
    r = Flow.Runner.new(flow)
    if runner == "native":
        assert _native.run(r) is True
    else:
        r.run()
    values = [s.get_values() for s in sinks]
    return values[0] if len(values) == 1 else tuple(values)


class Native:
    def __getitem__(self, name):
        return getattr(_native, name)


NATIVE = Native()
PYTHON = override._PYTHON_OPS


def keyed(o, s, n=3):
    return o["key_on"](s, "key", lambda x: str(x % n))


OPERATORS = {
    "map": lambda o, s: o["map"](s, "m", lambda x: {"n": x, "s": str(x), "l": [x] * (x % 3)}),
    "filter": lambda o, s: o["filter"](s, "f", lambda x: x % 3),
    "filter_map": lambda o, s: o["filter_map"](s, "fm", lambda x: None if x % 2 else ("k", x)),
    "flat_map": lambda o, s: o["flat_map"](s, "fm", lambda x: range(x % 4)),
    "flat_map_generator": lambda o, s: o["flat_map"](s, "fm", lambda x: (str(i) for i in range(x % 3))),
    "flat_map_variant": lambda o, s: o["flat_map"](s, "fm", lambda x: GLib.Variant("ax", [x, x])),
    "branch": lambda o, s: o["branch"](s, "b", lambda x: x > 6),
    "flat_map_batch": lambda o, s: o["flat_map_batch"](s, "fmb", lambda xs: [sum(xs), list(xs)]),
    "flat_map_batch_keyed": lambda o, s: o["flat_map_batch"](keyed(o, s), "fmb", lambda kvs: kvs[::-1]),
    "inspect_debug": lambda o, s: o["inspect_debug"](s, "dbg", lambda sid, x, epoch, worker: None),
    "key_on": lambda o, s: keyed(o, s),
    "map_value": lambda o, s: o["map_value"](keyed(o, s), "mv", lambda v: (v, Point(v, v))),
    "filter_value": lambda o, s: o["filter_value"](keyed(o, s), "fv", lambda v: v > 4),
    "flat_map_value": lambda o, s: o["flat_map_value"](keyed(o, s), "fmv", lambda v: [v] * (v % 3)),
    "stateful_map": lambda o, s: o["stateful_map"](
        keyed(o, s), "sm", lambda: 100, lambda st, v: (st + v, (st, v))),
    "stateful_map_no_builder": lambda o, s: o["stateful_map"](
        keyed(o, s), "sm", None, lambda st, v: (None if v == 4 else (st or 0) + v, st)),
    "stateful_map_list_pair": lambda o, s: o["stateful_map"](
        keyed(o, s), "sm", None, lambda st, v: [v, st]),
    "stateful_flat_map": lambda o, s: o["stateful_flat_map"](
        keyed(o, s), "sfm", lambda: [], lambda st, v: (st + [v], st[-2:])),
    "fold_final": lambda o, s: o["fold_final"](keyed(o, s), "ff", lambda: [], lambda acc, v: acc + [v]),
    "reduce_final": lambda o, s: o["reduce_final"](keyed(o, s), "rf", lambda a, v: a + v),
    "count_final": lambda o, s: o["count_final"](s, "cf", lambda x: "even" if x % 2 == 0 else "odd"),
    "max_final": lambda o, s: o["max_final"](keyed(o, s), "mx", lambda v: -v),
    "min_final": lambda o, s: o["min_final"](keyed(o, s), "mn", lambda v: (v % 4, v)),
}
ITEMS = list(range(12))


@pytest.mark.parametrize("runner", ["run", "native"])
@pytest.mark.parametrize("name", OPERATORS)
def test_operator_matches_pure_python(name, runner):
    build = OPERATORS[name]
    expected = run_impl(PYTHON, ITEMS, build)
    assert run_impl(NATIVE, ITEMS, build, runner=runner) == expected


def test_operators_come_from_the_typelib():
    # Every operator of Flow.Stream that takes functions is in _native,
    # found in the typelib, as in the override.
    # (stateful and stateful_batch build logic objects: the GI path only.)
    gi_only = {"stateful", "stateful_batch"}
    assert set(override._PYTHON_OPS) - gi_only <= set(dir(_native))
    assert {"flat_map_batch", "inspect_debug", "stateful_map", "branch"} <= set(dir(_native))


def test_inspect_debug_sees_epoch_and_worker():
    seen = []
    out = run_impl(NATIVE, [1, 2], lambda o, s: o["inspect_debug"](
        s, "dbg", lambda sid, x, epoch, worker: seen.append((sid, x, epoch, worker))))
    assert out == [1, 2]
    assert seen == [("t.dbg", 1, 1, 0), ("t.dbg", 2, 1, 0)]


def test_inspect_sees_full_step_id():
    seen = []
    out = run_impl(NATIVE, [1, 2], lambda o, s: o["inspect"](s, "look", lambda sid, x: seen.append((sid, x))))
    assert out == [1, 2]
    assert seen == [("t.look", 1), ("t.look", 2)]


def test_plain_values_in_and_out():
    values = [v for v in VALUES if not isinstance(v, GLib.Variant)]
    seen = []

    def identity(x):
        seen.append(x)
        return x

    out = run_impl(NATIVE, values, lambda o, s: o["map"](s, "m", identity))
    reference = [Flow.from_variant(Flow.to_variant(v)) for v in values]
    assert repr(seen) == repr(reference)
    assert repr(out) == repr(reference)


def test_the_override_uses_the_native_path():
    if os.environ.get("FLOW_PYTHON_NATIVE") == "0":
        pytest.skip("FLOW_PYTHON_NATIVE=0")
    assert override._native is _native


def test_bad_arguments():
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([1]))
    with pytest.raises(TypeError, match="Flow.Stream"):
        _native.map(42, "m", lambda x: x)
    with pytest.raises(TypeError, match="callable"):
        _native.map(s, "m", 42)
    with pytest.raises(TypeError, match="callable"):
        _native.fold_final(s, "f", None, lambda a, v: a)
    with pytest.raises(TypeError):
        _native.map(s, "m")
    with pytest.raises(TypeError, match="Flow.Runner"):
        _native.run(flow)


# ---------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------

class Boom(Exception):
    pass


def boom(*args):
    raise Boom("bang")


FAILING = {
    "map": (lambda s: _native.map(s, "step", boom), "map step 't.step' failed on item 0: Boom: bang"),
    "filter": (lambda s: _native.filter(s, "step", boom), None),
    "filter_map": (lambda s: _native.filter_map(s, "step", boom), None),
    "flat_map": (lambda s: _native.flat_map(s, "step", boom), None),
    "inspect": (lambda s: _native.inspect(s, "step", boom), None),
    "branch": (lambda s: _native.branch(s, "step", boom)[0], None),
    "key_on": (lambda s: _native.key_on(s, "step", boom), None),
    "map_value": (lambda s: _native.map_value(_native.key_on(s, "k", str), "step", boom),
                  "map_value step 't.step' failed for key '0': Boom: bang"),
    "filter_value": (lambda s: _native.filter_value(_native.key_on(s, "k", str), "step", boom), None),
    "flat_map_value": (lambda s: _native.flat_map_value(_native.key_on(s, "k", str), "step", boom), None),
    "stateful_map": (lambda s: _native.stateful_map(_native.key_on(s, "k", str), "step", None, boom), None),
    "stateful_map_builder": (lambda s: _native.stateful_map(
        _native.key_on(s, "k", str), "step", boom, lambda st, v: (st, v)), None),
    "stateful_flat_map": (lambda s: _native.stateful_flat_map(
        _native.key_on(s, "k", str), "step", None, boom), None),
    "fold_final": (lambda s: _native.fold_final(_native.key_on(s, "k", str), "step", boom,
                                                lambda a, v: a), None),
    "fold_final_folder": (lambda s: _native.fold_final(_native.key_on(s, "k", str), "step",
                                                       lambda: 0, boom), None),
    "reduce_final": (lambda s: _native.reduce_final(_native.key_on(s, "k", lambda x: "one"),
                                                    "step", boom), None),
    "count_final": (lambda s: _native.count_final(s, "step", boom), None),
    "max_final": (lambda s: _native.max_final(_native.key_on(s, "k", lambda x: "one"), "step", boom), None),
    "min_final": (lambda s: _native.min_final(_native.key_on(s, "k", lambda x: "one"), "step", boom), None),
    "flat_map_batch": (lambda s: _native.flat_map_batch(s, "step", boom),
                       "flat_map_batch step 't.step' failed: on a batch of 1 items: Boom: bang"),
    "inspect_debug": (lambda s: _native.inspect_debug(s, "step", boom),
                      "inspect_debug step 't.step' failed on item 0: Boom: bang"),
}


def failing_flow(build):
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([0, 1, 2]))
    build(s).output("out", Flow.TestingSink())
    return Flow.Runner.new(flow)


@needs_override_native
@pytest.mark.parametrize("name", FAILING)
def test_exception_stops_the_run_and_is_reraised(name):
    build, message = FAILING[name]
    assert _native.take_pending_exception() is None
    with pytest.raises(Boom, match="bang") as info:
        failing_flow(build).run()
    assert "t.step" in info.value.__notes__[0]
    # The traceback goes down to the user's function.
    tb = info.value.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code is boom.__code__
    assert _native.take_pending_exception() is None


@pytest.mark.parametrize("name", FAILING)
def test_exception_message_with_native_run(name):
    build, message = FAILING[name]
    with pytest.raises(GLib.Error) as info:
        _native.run(failing_flow(build))
    assert info.value.matches(Flow.error_quark(), Flow.Error.USER_FUNCTION)
    assert info.value.message.endswith("Boom: bang")
    assert "'t.step'" in info.value.message
    if message is not None:
        assert info.value.message == message
    exc = _native.take_pending_exception()
    assert isinstance(exc, Boom) and exc.__traceback__ is not None
    assert _native.take_pending_exception() is None


def test_exception_without_text_is_its_name():
    def fail(x):
        raise KeyError

    with pytest.raises(GLib.Error) as info:
        _native.run(failing_flow(lambda s: _native.map(s, "step", fail)))
    assert info.value.message.endswith(": KeyError")
    assert isinstance(_native.take_pending_exception(), KeyError)


def test_glib_error_goes_through_as_it_is():
    def fail(x):
        raise GLib.Error.new_literal(Gio.io_error_quark(), "no such thing", Gio.IOErrorEnum.NOT_FOUND)

    with pytest.raises(GLib.Error) as info:
        _native.run(failing_flow(lambda s: _native.map(s, "step", fail)))
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND)
    assert info.value.message.endswith("no such thing")
    _native.take_pending_exception()


@needs_override_native
@pytest.mark.parametrize("build,reference_build", [
    (lambda s: _native.key_on(s, "step", lambda x: x),
     lambda s: PYTHON["key_on"](s, "step", lambda x: x)),
    (lambda s: _native.stateful_map(_native.key_on(s, "k", str), "step", None, lambda st, v: v),
     lambda s: PYTHON["stateful_map"](PYTHON["key_on"](s, "k", str), "step", None, lambda st, v: v)),
    (lambda s: _native.stateful_map(_native.key_on(s, "k", str), "step", None, lambda st, v: (1, 2, 3)),
     lambda s: PYTHON["stateful_map"](PYTHON["key_on"](s, "k", str), "step", None,
                                      lambda st, v: (1, 2, 3))),
    (lambda s: _native.flat_map(s, "step", lambda x: 42),
     lambda s: PYTHON["flat_map"](s, "step", lambda x: 42)),
    (lambda s: _native.stateful_flat_map(_native.key_on(s, "k", str), "step", None, lambda st, v: (st, 1)),
     lambda s: PYTHON["stateful_flat_map"](PYTHON["key_on"](s, "k", str), "step", None,
                                           lambda st, v: (st, 1))),
    (lambda s: _native.map(s, "step", lambda x: lambda: x),
     lambda s: PYTHON["map"](s, "step", lambda x: lambda: x)),
], ids=["key-not-str", "pair-not-tuple", "pair-of-three", "not-iterable", "emit-not-iterable",
        "unpicklable"])
def test_bad_results_fail_like_the_reference(build, reference_build):
    with pytest.raises(TypeError) as reference:
        failing_flow(reference_build).run()
    with pytest.raises(TypeError) as native:
        failing_flow(build).run()
    assert str(native.value) == str(reference.value)
    assert native.value.__notes__ == reference.value.__notes__


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------

class Fn:
    """A callable that can be weakly referenced."""

    def __init__(self, result=None):
        self.result = result

    def __call__(self, *args):
        return args[-1] if self.result is None else self.result


def test_functions_are_released_with_the_dataflow():
    fns = [Fn(), Fn((1, 2)), Fn(), Fn(True)]
    refs = [weakref.ref(f) for f in fns]
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([1, 2]))
    s = _native.map(s, "m", fns[0])
    s = _native.key_on(s, "k", lambda x: str(x))
    s = _native.stateful_map(s, "sm", Fn(0), fns[1])
    s = _native.fold_final(s, "ff", Fn(0), fns[2])
    trues, falses = _native.branch(s, "b", fns[3])
    trues.output("out", Flow.TestingSink())
    falses.output("out2", Flow.TestingSink())
    _native.run(Flow.Runner.new(flow))
    del fns, s, trues, falses
    gc.collect()
    assert all(r() is not None for r in refs)
    del flow
    gc.collect()
    assert all(r() is None for r in refs)


def test_values_do_not_leak():
    class Tracked:
        pass

    marker = Tracked()
    before = sys.getrefcount(marker)
    out = run_impl(NATIVE, [1, 2, 3], lambda o, s: o["map"](s, "m", lambda x: (marker, x)[1]))
    assert out == [1, 2, 3]
    gc.collect()
    assert sys.getrefcount(marker) == before


# ---------------------------------------------------------------------------
# run(), threads and the GIL
# ---------------------------------------------------------------------------

def test_run_raises_glib_errors_of_libflow():
    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([1]))
    with pytest.raises(GLib.Error) as info:
        _native.run(Flow.Runner.new(flow))
    assert info.value.matches(Flow.error_quark(), Flow.Error.INCOMPLETE_FLOW)


def paused_flow(seconds, fn=lambda x: x):
    src = Flow.TestingSource([1, 2, 3])
    src.add_marker(1, Flow.TestingMarker.PAUSE, seconds)
    flow = Flow.Dataflow("t")
    sink = Flow.TestingSink()
    _native.map(flow.input("inp", src), "m", fn).output("out", sink)
    return Flow.Runner.new(flow), sink


def flow_paused_after_first_item():
    """A flow that maps 1, then pauses for an hour (of the real clock: the
    tests below stop it long before), then would map 2 and 3. The returned
    event is set when 1 has been mapped, i.e. when the run starts to wait."""
    waiting = threading.Event()

    def mark(x):
        if x == 1:
            waiting.set()
        return x

    runner, sink = paused_flow(3600, mark)
    return runner, sink, waiting


def test_run_releases_the_gil_while_waiting():
    # A thread cancels the run once it waits. Cancelling needs the GIL: if
    # run() kept it while waiting, the thread could not, and the test would
    # hang (the run pauses for an hour) until meson's timeout fails it.
    runner, sink, waiting = flow_paused_after_first_item()
    cancellable = Gio.Cancellable()
    seen = []

    def cancel_when_waiting():
        waiting.wait()
        seen.extend(sink.get_values())   # Python code, with the GIL
        cancellable.cancel()

    t = threading.Thread(target=cancel_when_waiting)
    t.start()
    try:
        with pytest.raises(GLib.Error) as info:
            _native.run(runner, cancellable)
    finally:
        waiting.set()
        t.join()
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert seen == [1]
    assert sink.get_values() == [1]


def test_run_with_cancellable():
    # Already cancelled: the run does not start reading.
    runner, sink, _waiting = flow_paused_after_first_item()
    cancellable = Gio.Cancellable()
    cancellable.cancel()
    with pytest.raises(GLib.Error) as info:
        _native.run(runner, cancellable)
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert sink.get_values() == []


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
def test_ctrl_c_stops_native_run():
    # SIGINT once the run waits (not after a delay): KeyboardInterrupt.
    runner, sink, waiting = flow_paused_after_first_item()

    def interrupt_when_waiting():
        waiting.wait()
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt_when_waiting)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _native.run(runner)
    finally:
        waiting.set()
        t.join()
    assert sink.get_values() == [1]


def test_callbacks_from_a_flow_run_in_another_thread():
    results = {}

    def work(n):
        results[n] = run_impl(NATIVE, list(range(50)), lambda o, s: o["stateful_map"](
            keyed(o, s), "sm", None, lambda st, v: ((st or 0) + v, (st or 0) + v)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = run_impl(PYTHON, list(range(50)), lambda o, s: o["stateful_map"](
        keyed(o, s), "sm", None, lambda st, v: ((st or 0) + v, (st or 0) + v)))
    assert all(results[i] == expected for i in range(4))


# ---------------------------------------------------------------------------
# sink_partition()
# ---------------------------------------------------------------------------

class ListSink(Flow.Sink):
    def __init__(self, fail=False):
        super().__init__()
        self.values = []
        self.closed = False
        self.fail = fail

    def do_build_part(self, step_id, part_key, resume_state):
        def write_batch(items):
            if self.fail:
                raise Boom("cannot write")
            self.values.extend(items)

        def close():
            self.closed = True

        return _native.sink_partition(write_batch, lambda: len(self.values), close)


def test_sink_partition_gets_plain_values():
    values = [v for v in VALUES if not isinstance(v, GLib.Variant)]
    flow = Flow.Dataflow("t")
    sink = ListSink()
    flow.input("inp", Flow.TestingSource(values, batch_size=7)).output("out", sink)
    assert _native.run(Flow.Runner.new(flow))
    assert repr(sink.values) == repr([Flow.from_variant(Flow.to_variant(v)) for v in values])
    assert sink.closed


@needs_override_native
def test_sink_partition_failure_stops_the_run():
    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([1])).output("out", ListSink(fail=True))
    with pytest.raises(Boom, match="cannot write") as info:
        Flow.Runner.new(flow).run()
    assert "t.out" in info.value.__notes__[0]


def test_batch_is_a_lazy_read_only_sequence():
    kept = []

    class Sink(Flow.Sink):
        def do_build_part(self, step_id, part_key, resume_state):
            def write_batch(items):
                assert isinstance(items, _native.Batch)
                assert len(items) == 4
                assert items[0] == ("k", 0) and items[-1] == ("k", [3])
                assert items[1:3] == [("k", 1.5), ("k", "two")]
                assert items[::-2] == [("k", [3]), ("k", 1.5)]
                assert list(items) == [("k", 0), ("k", 1.5), ("k", "two"), ("k", [3])]
                assert repr(items).startswith("Batch([('k', 0)")
                with pytest.raises(IndexError):
                    items[4]
                with pytest.raises(TypeError):
                    items["x"]
                kept.append(items)  # kept beyond write_batch
            return _native.sink_partition(write_batch)

    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([0, 1.5, "two", [3]], batch_size=4))
    _native.key_on(s, "k", lambda x: "k").output("out", Sink())
    assert _native.run(Flow.Runner.new(flow))
    del flow
    gc.collect()
    # Still valid after the run and the dataflow are gone.
    assert list(kept[0]) == [("k", 0), ("k", 1.5), ("k", "two"), ("k", [3])]


# ---------------------------------------------------------------------------
# The GIL in callbacks under run() (issue 12): a callback on run()'s thread
# uses the GIL run() holds, any other takes it with PyGILState_Ensure().
# A callback that ran Python code without the GIL would crash the test.
# ---------------------------------------------------------------------------

FlowGI = gi.module.get_introspection_module("Flow")


def small_flow(fn, items):
    flow = Flow.Dataflow("inner")
    sink = Flow.TestingSink()
    _native.map(flow.input("inp", Flow.TestingSource(items, batch_size=2)), "m", fn).output("out", sink)
    return Flow.Runner.new(flow), sink


def test_run_inside_a_callback_of_run():
    inner_outputs = []

    def outer(x):
        runner, sink = small_flow(lambda y: y * x, [1, 2, 3])
        assert _native.run(runner) is True
        inner_outputs.append(sink.get_values())
        return x + 100   # after the inner run: the outer run's GIL again

    runner, sink = small_flow(outer, [1, 2, 3])
    assert _native.run(runner) is True
    assert sink.get_values() == [101, 102, 103]
    assert inner_outputs == [[1, 2, 3], [2, 4, 6], [3, 6, 9]]


def test_callbacks_while_a_callback_released_the_gil():
    # The GI Runner.run() releases the GIL and runs the inner flow on the
    # same thread: its callbacks must take the GIL back, not take the outer
    # run() for holding it. A thread runs Python code meanwhile.
    stop = threading.Event()
    spins = []

    def spin():
        n = 0
        while not stop.is_set():
            n += sum(range(100))
        spins.append(n)

    inner_outputs = []

    def outer(x):
        runner, sink = small_flow(lambda y: [y, x, str(y)], list(range(20)))
        assert FlowGI.Runner.run(runner, None) is True
        inner_outputs.append(sink.get_values())
        return x

    t = threading.Thread(target=spin)
    t.start()
    try:
        runner, sink = small_flow(outer, [1, 2, 3])
        assert _native.run(runner) is True
    finally:
        stop.set()
        t.join()
    assert sink.get_values() == [1, 2, 3]
    assert inner_outputs == [[[y, x, str(y)] for y in range(20)] for x in (1, 2, 3)]
    assert spins


def test_native_runs_in_two_threads_at_once():
    # Each thread's run() has its own thread state; the callbacks of one
    # never take the other's GIL state for theirs.
    barrier = threading.Barrier(2)
    results = {}

    def fn(x):
        if x == 0:
            barrier.wait(timeout=60)   # both runs are inside a callback here
        return (threading.get_ident(), x)

    def work(i):
        runner, sink = small_flow(fn, list(range(200)))
        assert _native.run(runner) is True
        results[i] = sink.get_values()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    idents = {i: {ident for ident, _x in results[i]} for i in range(2)}
    assert [x for _ident, x in results[0]] == list(range(200))
    assert [x for _ident, x in results[1]] == list(range(200))
    assert len(idents[0]) == 1 and len(idents[1]) == 1 and idents[0] != idents[1]


def test_callbacks_under_the_gi_run_after_a_native_run():
    # After run() returns, its thread state is no longer taken for holding
    # the GIL: the GI Runner.run() (GIL released) works as before.
    runner, sink = small_flow(lambda y: y + 1, [1, 2])
    assert _native.run(runner) is True
    runner, sink = small_flow(lambda y: y + 2, [1, 2])
    assert FlowGI.Runner.run(runner, None) is True
    assert sink.get_values() == [3, 4]
