# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python values <-> GVariant items (Flow.to_variant / Flow.from_variant)."""

import collections
import datetime
import decimal
import fractions
import math
import pickle

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402

Point = collections.namedtuple("Point", "x y")


class Custom:
    def __init__(self, a):
        self.a = a

    def __eq__(self, other):
        return type(other) is Custom and other.a == self.a

    def __repr__(self):
        return f"Custom({self.a!r})"


# (value, GVariant type string it must become)
TYPED = [
    (0, "x"),
    (-5, "x"),
    (2**63 - 1, "x"),
    (-(2**63), "x"),
    (2.5, "d"),
    (-0.0, "d"),
    (float("inf"), "d"),
    ("text", "s"),
    ("", "s"),
    ("héllo wörld ✓", "s"),
    (True, "b"),
    (False, "b"),
    (b"raw\x00bytes\xff", "ay"),
    (b"", "ay"),
    (None, "mv"),
    (("key", 12), "(sv)"),
    (("key", None), "(sv)"),
    (("key", ("inner", [1, 2])), "(sv)"),
    ((1, "a", 2.5), "(vvv)"),
    ((1, 2), "(vv)"),
    # A key that cannot be a GVariant string: not a keyed item.
    (("nul\x00key", 1), "(vv)"),
    ((), "()"),
    (("only",), "(v)"),
    ([1, "a", None, [2, 3]], "av"),
    ([], "av"),
    ({"a": 1, "b": [1, 2], "c": {"d": None}}, "a{sv}"),
    ({}, "a{sv}"),
    ({1: "one", -2: "minus two"}, "a{xv}"),
    ({True: 1, False: 0}, "a{bv}"),
    ({1.5: "x"}, "a{dv}"),
]

# Values that are carried pickled, as a tagged (ssay).
PICKLED = [
    2**64,
    -(2**63) - 1,
    "nul\x00inside",
    "lone \udcff surrogate",
    {"nul\x00": 1},
    {(1, 2): "tuple key"},
    {1: "int", "a": "mixed keys"},
    {2**70: "big int key"},
    Point(1, 2),
    Custom([1, 2]),
    datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc),
    decimal.Decimal("1.10"),
    fractions.Fraction(1, 3),
    {1, 2, 3},
    frozenset({"a"}),
    complex(1, 2),
]


@pytest.mark.parametrize("value,type_string", TYPED, ids=repr)
def test_plain_values_have_their_gvariant_type(value, type_string):
    v = Flow.to_variant(value)
    assert isinstance(v, GLib.Variant)
    assert v.get_type_string() == type_string


@pytest.mark.parametrize("value", [v for v, _ in TYPED] + PICKLED, ids=repr)
def test_round_trip_is_exact(value):
    back = Flow.from_variant(Flow.to_variant(value))
    assert type(back) is type(value)
    assert back == value
    # Nested values keep their exact types too (bool is not int, etc.).
    assert repr(back) == repr(value)


def test_round_trip_of_nan():
    back = Flow.from_variant(Flow.to_variant(float("nan")))
    assert type(back) is float and math.isnan(back)


def test_nested_types_survive():
    value = {"list": [True, 1, 1.0, "1", b"1", None, (1,), ("k", 1)],
             "tuple": (Point(0, 0), {1: 2})}
    back = Flow.from_variant(Flow.to_variant(value))
    assert back == value
    assert [type(x) for x in back["list"]] == [bool, int, float, str, bytes, type(None), tuple, tuple]
    assert type(back["tuple"][0]) is Point


@pytest.mark.parametrize("value", PICKLED, ids=repr)
def test_other_values_are_tagged_pickles_printed_by_their_repr(value):
    v = Flow.to_variant(value)
    assert v.get_type_string() == "(ssay)"
    assert v.get_child_value(0).get_string() == "python:pickle"
    assert pickle.loads(v.get_child_value(2).get_data_as_bytes().get_data()) == value
    # The C repr (StdOutSink, error messages, flow-recovery show) prints the
    # stored repr.
    if "\x00" not in repr(value) and "\udcff" not in repr(value):
        assert Flow.item_repr(v) == repr(value)


def test_bytearray_travels_as_bytes():
    v = Flow.to_variant(bytearray(b"ab\x00"))
    assert v.get_type_string() == "ay"
    assert Flow.from_variant(v) == b"ab\x00"


def test_variant_passes_through():
    v = GLib.Variant("u", 7)
    out = Flow.to_variant(v)
    assert out.get_type_string() == "u"
    assert out.equal(v)


def test_unpicklable_value_is_a_type_error():
    with pytest.raises(TypeError, match="cannot be pickled"):
        Flow.to_variant(lambda x: x)


@pytest.mark.parametrize("variant,expected", [
    (GLib.Variant("y", 200), 200),
    (GLib.Variant("n", -3), -3),
    (GLib.Variant("q", 3), 3),
    (GLib.Variant("i", -7), -7),
    (GLib.Variant("u", 7), 7),
    (GLib.Variant("t", 2**64 - 1), 2**64 - 1),
    (GLib.Variant("o", "/org/gnome/Flow"), "/org/gnome/Flow"),
    (GLib.Variant("g", "a{sv}"), "a{sv}"),
    (GLib.Variant("v", GLib.Variant("s", "boxed")), "boxed"),
    (GLib.Variant("mi", 5), 5),
    (GLib.Variant("mi", None), None),
    (GLib.Variant("ai", [1, 2]), [1, 2]),
    (GLib.Variant("as", ["a", "b"]), ["a", "b"]),
    (GLib.Variant("a{si}", {"a": 1}), {"a": 1}),
    (GLib.Variant("a{is}", {1: "a"}), {1: "a"}),
    (GLib.Variant("(is)", (1, "a")), (1, "a")),
    (GLib.Variant("(ssay)", ("not-pickle", "x", b"y")), ("not-pickle", "x", b"y")),
    (GLib.Variant("aay", [b"a", b"b"]), [b"a", b"b"]),
])
def test_variants_made_elsewhere_become_plain_values(variant, expected):
    back = Flow.from_variant(variant)
    assert back == expected
    assert type(back) is type(expected)


def test_keyed_item_is_what_c_calls_keyed():
    v = Flow.to_variant(("ALL", 3))
    assert Flow.item_is_keyed(v)
    assert Flow.item_repr(v) == "('ALL', 3)"
    assert not Flow.item_is_keyed(Flow.to_variant((1, 3)))


def test_none_is_what_c_calls_none():
    assert Flow.item_is_none(Flow.to_variant(None))
    assert Flow.item_repr(Flow.to_variant(None)) == "None"


@pytest.mark.parametrize("value", [
    ("ALL", 0), "text", 2.5, [1, 2], None, {"a": 1}, {1: "a"}, b"raw", True, (1, "a"),
])
def test_c_repr_matches_python_repr(value):
    assert Flow.item_repr(Flow.to_variant(value)) == repr(value)
