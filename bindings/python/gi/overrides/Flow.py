# Flow.py: the PyGObject override of libflow
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Pythonic libflow.

With this override, the functions given to the operators of a
``Flow.Stream`` take and return plain Python values (int, float, str, bool,
bytes, None, tuple, list, dict; anything else picklable travels pickled),
``flat_map`` functions may return any iterable, and an exception raised in
any of them (or in a ``do_*`` method of a Python source or sink) stops the
run and is re-raised, the same exception object, from ``Runner.run()``
with a note naming the step and the key.

How Python values map to items (``to_variant`` / ``from_variant``):

======================================  ================================
Python                                  GVariant
======================================  ================================
``int`` (in the int64 range)            ``x``
``float``                               ``d``
``str`` (without NUL)                   ``s``
``bool``                                ``b``
``bytes``, ``bytearray``                ``ay`` (comes back as ``bytes``)
``None``                                ``mv`` nothing
``(str, value)``                        ``(sv)``: a keyed item
any other ``tuple``                     ``(v…)``
``list``                                ``av``
``dict`` with ``str`` keys              ``a{sv}``
``dict`` with ``int``/``bool``/         ``a{xv}`` / ``a{bv}`` / ``a{dv}``
``float`` keys (all of one type)
``GLib.Variant``                        itself
anything else                           ``('python:pickle', repr, pickle)``
                                        as ``(ssay)``
======================================  ================================

(GVariant dictionary keys must be of a basic type, so a dict whose keys are
of another type, or of mixed types, is pickled as a whole.)

A native fast path (the ``gi.overrides._flow_native`` extension, private
to this override, when it is built) is
used for the per-item operators; ``FLOW_PYTHON_NATIVE=0`` disables it. The
pure-Python path below is the reference.
"""

import datetime as _datetime
import os
import pickle
import sys
import threading
import traceback

from gi import _gi
from gi.repository import GLib

from ..module import get_introspection_module
from ..overrides import override

Flow = get_introspection_module("Flow")

__all__ = []

_PICKLE_TAG = "python:pickle"
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_Variant = GLib.Variant
_VariantType = GLib.VariantType
_new_int64 = _Variant.new_int64
_new_double = _Variant.new_double
_new_boolean = _Variant.new_boolean
_new_string = _Variant.new_string
_new_variant = _Variant.new_variant
_new_array = _Variant.new_array
_new_dict_entry = _Variant.new_dict_entry
_new_tuple = GLib.Variant.new_tuple  # the override's: takes *elements
_T_V = _VariantType.new("v")
_T_AY = _VariantType.new("ay")
_DICT_TYPES = {
    str: _VariantType.new("{sv}"),
    int: _VariantType.new("{xv}"),
    bool: _VariantType.new("{bv}"),
    float: _VariantType.new("{dv}"),
}
_NONE = _Variant.new_maybe(_T_V, None)


# ---------------------------------------------------------------------------
# Python values <-> GVariant items
# ---------------------------------------------------------------------------

def _str_ok(s):
    """Whether a str can be a GVariant string exactly (UTF-8, no NUL)."""
    if "\0" in s:
        return False
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pickled(obj):
    try:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        raise TypeError(
            f"cannot carry a {type(obj).__qualname__} as a libflow item: it is "
            f"not one of the plain types and it cannot be pickled ({e})") from e
    text = repr(obj)
    if not _str_ok(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\0", "\\x00")
    return _new_tuple(_new_string(_PICKLE_TAG), _new_string(text),
                      _Variant.new_from_bytes(_T_AY, GLib.Bytes.new(data), True))


def _from_int(i):
    if _INT64_MIN <= i <= _INT64_MAX:
        return _new_int64(i)
    return _pickled(i)


def _from_str(s):
    if _str_ok(s):
        return _new_string(s)
    return _pickled(s)


def _from_bytes(b):
    return _Variant.new_from_bytes(_T_AY, GLib.Bytes.new(bytes(b)), True)


def _from_tuple(t):
    if len(t) == 2 and type(t[0]) is str and _str_ok(t[0]):
        return _new_tuple(_new_string(t[0]), _new_variant(to_variant(t[1])))
    return _new_tuple(*[_new_variant(to_variant(x)) for x in t])


def _from_list(values):
    return _new_array(_T_V, [_new_variant(to_variant(x)) for x in values])


def _from_dict(d):
    if not d:
        return _new_array(_DICT_TYPES[str], [])
    key_types = {type(k) for k in d}
    if len(key_types) == 1:
        kt = key_types.pop()
        entry_type = _DICT_TYPES.get(kt)
        if entry_type is not None:
            if kt is str:
                if all(_str_ok(k) for k in d):
                    return _new_array(entry_type, [
                        _new_dict_entry(_new_string(k), _new_variant(to_variant(v)))
                        for k, v in d.items()])
            elif kt is int:
                if all(_INT64_MIN <= k <= _INT64_MAX for k in d):
                    return _new_array(entry_type, [
                        _new_dict_entry(_new_int64(k), _new_variant(to_variant(v)))
                        for k, v in d.items()])
            elif kt is bool:
                return _new_array(entry_type, [
                    _new_dict_entry(_new_boolean(k), _new_variant(to_variant(v)))
                    for k, v in d.items()])
            else:
                return _new_array(entry_type, [
                    _new_dict_entry(_new_double(k), _new_variant(to_variant(v)))
                    for k, v in d.items()])
    return _pickled(d)


_TO_VARIANT = {
    int: _from_int,
    float: _new_double,
    str: _from_str,
    bool: _new_boolean,
    bytes: _from_bytes,
    bytearray: _from_bytes,
    type(None): lambda _: _NONE,
    tuple: _from_tuple,
    list: _from_list,
    dict: _from_dict,
}


def to_variant(obj):
    """Converts a plain Python value to the GVariant item libflow carries.

    See the module documentation for the mapping. Values of other types
    (including subclasses of the plain types, such as named tuples) are
    pickled, so they come back as what they were.

    Raises:
        TypeError: if the value is of no plain type and cannot be pickled
    """
    conv = _TO_VARIANT.get(type(obj))
    if conv is not None:
        return conv(obj)
    if isinstance(obj, _Variant):
        return obj
    return _pickled(obj)


def _to_bytes(v):
    return v.get_data_as_bytes().get_data()


def _to_maybe(v):
    if v.n_children() == 0:
        return None
    return from_variant(v.get_child_value(0))


def _to_keyed(v):
    return (v.get_child_value(0).get_string(),
            from_variant(v.get_child_value(1).get_variant()))


def _to_list(v):
    return [from_variant(v.get_child_value(i)) for i in range(v.n_children())]


_FROM_VARIANT = {
    "x": _Variant.get_int64,
    "i": _Variant.get_int32,
    "u": _Variant.get_uint32,
    "t": _Variant.get_uint64,
    "n": _Variant.get_int16,
    "q": _Variant.get_uint16,
    "y": _Variant.get_byte,
    "h": _Variant.get_handle,
    "b": _Variant.get_boolean,
    "d": _Variant.get_double,
    "s": _Variant.get_string,
    "o": _Variant.get_string,
    "g": _Variant.get_string,
    "v": lambda v: from_variant(v.get_variant()),
    "mv": _to_maybe,
    "(sv)": _to_keyed,
    "ay": _to_bytes,
    "av": _to_list,
}


def from_variant(v):
    """Converts a GVariant item to a plain Python value.

    The reverse of :func:`to_variant`; it also accepts GVariants made
    elsewhere: every integer type becomes an ``int``, object paths and
    signatures ``str``, a maybe ``None`` or its value, a boxed ``v`` its
    content, other arrays lists, dictionaries dicts and other tuples
    tuples.
    """
    if v is None:
        return None
    ts = v.get_type_string()
    conv = _FROM_VARIANT.get(ts)
    if conv is not None:
        return conv(v)
    c = ts[0]
    if c == "(":
        if ts == "(ssay)" and v.get_child_value(0).get_string() == _PICKLE_TAG:
            return pickle.loads(_to_bytes(v.get_child_value(2)))
        return tuple(from_variant(v.get_child_value(i)) for i in range(v.n_children()))
    if c == "a":
        if ts[1] == "{":
            d = {}
            for i in range(v.n_children()):
                entry = v.get_child_value(i)
                d[from_variant(entry.get_child_value(0))] = from_variant(entry.get_child_value(1))
            return d
        return _to_list(v)
    if c == "m":
        return _to_maybe(v)
    if c == "{":
        return (from_variant(v.get_child_value(0)), from_variant(v.get_child_value(1)))
    return v.unpack()


__all__ += ["to_variant", "from_variant"]


def _register_item_type(cls, to_fn, from_fns):
    """Carries instances of ``cls`` (exactly) as ``to_fn(obj)`` makes them
    (a ``GLib.Variant``, or ``None`` to pickle this one), and GVariants of
    the type strings of ``from_fns`` as their function makes them (a
    function of the ``GLib.Variant``): the pure-Python side of a
    connector's own item types (flow.connectors.kafka's messages). The
    native path has its own (``_flow_native.register_kafka``)."""
    def conv(obj):
        v = to_fn(obj)
        return _pickled(obj) if v is None else v
    _TO_VARIANT[cls] = conv
    _FROM_VARIANT.update(from_fns)


def _to_array(values, what):
    """An iterable of Python values as an ``av`` array of items."""
    if isinstance(values, _Variant):
        return values
    if type(values) is not list:
        try:
            it = iter(values)
        except TypeError:
            raise TypeError(f"{what} must return an iterable of items, "
                            f"not {type(values).__qualname__}") from None
        values = list(it)
    return to_variant(values)       # a list is an av array


# ---------------------------------------------------------------------------
# Exceptions raised in Python code called by libflow
# ---------------------------------------------------------------------------
#
# PyGObject turns a GLib.Error raised in a callback into its GError, but only
# prints any other exception. Every function and method libflow calls is
# therefore wrapped: an exception goes into the exception slot of the run in
# progress, and a GLib.Error with its description (``Type: message``) goes
# to libflow, which stops the run and prefixes the step (and key) to the
# message. When the run fails with that error, run() (or run_finish())
# raises the exception in the slot.
#
# Which run is in progress: run() puts its slot on a per-thread stack for
# its duration (every callback of a synchronous run happens inside it, on
# its thread); run_async() registers its slot for the thread whose main
# context runs it until its callback returned.

class _RunSlot:
    """The exception slot of one run: the first exception a Python
    function raised during it, and its description."""

    __slots__ = ("text", "exception")

    def __init__(self):
        self.text = None
        self.exception = None

    def offer(self, text, exc):
        if self.exception is None:
            self.text, self.exception = text, exc


_runs = threading.local()      # .stack: the slots of run() calls on this thread
_async_lock = threading.Lock()
_async_runs = {}               # thread id -> [slot of each run_async() running there]


def _describe(exc):
    try:
        text = str(exc)
    except Exception:
        text = ""
    name = type(exc).__qualname__
    return f"{name}: {text}" if text else name


def _stash(exc):
    """Puts ``exc`` into the slot of the run in progress on this thread.
    Returns whether there was one."""
    text = exc.message if isinstance(exc, GLib.Error) else _describe(exc)
    stack = getattr(_runs, "stack", None)
    if stack:
        stack[-1].offer(text, exc)
        return True
    with _async_lock:
        slots = _async_runs.get(threading.get_ident(), ())
    for slot in slots:      # several async runs at once: each checks the message
        slot.offer(text, exc)
    return bool(slots)


def _user_error(exc):
    """Stashes ``exc`` and returns the GLib.Error to raise to libflow."""
    _stash(exc)
    if isinstance(exc, GLib.Error):
        return exc
    return GLib.Error.new_literal(Flow.error_quark(), _describe(exc), Flow.Error.USER_FUNCTION)


def _raise_run_error(error, slot):
    """Raises what a failed run's GLib.Error stands for.

    The exception in the run's slot when it caused the error, with a note
    naming the step (and key); the GLib.Error otherwise.
    """
    if slot.exception is None or not error.message.endswith(slot.text):
        raise error
    text, exc = slot.text, slot.exception
    slot.text = slot.exception = None
    where = error.message
    if where.endswith(text):
        where = where[:len(where) - len(text)].rstrip().rstrip(":")
    note = f"libflow: {where}"
    notes = getattr(exc, "__notes__", None)
    if notes is None or note not in notes:
        try:
            exc.add_note(note)
        except AttributeError:      # before Python 3.11
            exc.__notes__ = list(notes or ()) + [note]
    raise exc.with_traceback(exc.__traceback__) from None


def _check_flow(dataflow):
    """Raises a building mistake of ``dataflow``, at build time."""
    try:
        dataflow.check()
    except GLib.Error as e:
        if not e.matches(Flow.error_quark(), Flow.Error.INCOMPLETE_FLOW):
            raise


# ---------------------------------------------------------------------------
# Callback wrappers (the pure-Python path)
# ---------------------------------------------------------------------------
#
# Each takes the user's function and returns the callback handed to libflow
# through GI. Extra positional arguments are PyGObject's user_data.

def _cb_map(fn):
    def map_cb(item, *_):
        try:
            return to_variant(fn(from_variant(item)))
        except BaseException as e:
            raise _user_error(e) from None
    return map_cb


def _cb_predicate(fn):
    def predicate_cb(item, *_):
        try:
            return bool(fn(from_variant(item)))
        except BaseException as e:
            raise _user_error(e) from None
    return predicate_cb


def _cb_filter_map(fn):
    def filter_map_cb(item, *_):
        try:
            result = fn(from_variant(item))
            return None if result is None else to_variant(result)
        except BaseException as e:
            raise _user_error(e) from None
    return filter_map_cb


def _cb_flat_map(fn):
    def flat_map_cb(item, *_):
        try:
            return _to_array(fn(from_variant(item)), "a flat_map function")
        except BaseException as e:
            raise _user_error(e) from None
    return flat_map_cb


def _cb_key(fn):
    def key_cb(item, *_):
        try:
            key = fn(from_variant(item))
            if type(key) is not str:
                raise TypeError(f"a key function must return a str, not "
                                f"{type(key).__qualname__} ({key!r})")
            return key
        except BaseException as e:
            raise _user_error(e) from None
    return key_cb


def _cb_inspect(fn):
    def inspect_cb(step_id, item, *_):
        try:
            fn(step_id, from_variant(item))
        except BaseException as e:
            raise _user_error(e) from None
    return inspect_cb


def _cb_builder(fn):
    def builder_cb(*_):
        try:
            return to_variant(fn())
        except BaseException as e:
            raise _user_error(e) from None
    return builder_cb


def _split_pair(result, what):
    try:
        state, emit = result
    except (TypeError, ValueError):
        raise TypeError(f"the return value of {what} must be a 2-tuple (new_state, emit), not "
                        f"{type(result).__qualname__} ({result!r})") from None
    return state, emit


def _cb_stateful_map(fn):
    def stateful_map_cb(state, value, *_):
        try:
            new_state, emit = _split_pair(
                fn(None if state is None else from_variant(state), from_variant(value)),
                "a stateful_map mapper")
            return (None if new_state is None else to_variant(new_state),
                    to_variant(emit))
        except BaseException as e:
            raise _user_error(e) from None
    return stateful_map_cb


def _cb_stateful_flat_map(fn):
    def stateful_flat_map_cb(state, value, *_):
        try:
            new_state, emits = _split_pair(
                fn(None if state is None else from_variant(state), from_variant(value)),
                "a stateful_flat_map mapper")
            return (None if new_state is None else to_variant(new_state),
                    _to_array(emits, "a stateful_flat_map mapper"))
        except BaseException as e:
            raise _user_error(e) from None
    return stateful_flat_map_cb


def _cb_fold(fn):
    def fold_cb(acc, value, *_):
        try:
            return to_variant(fn(from_variant(acc), from_variant(value)))
        except BaseException as e:
            raise _user_error(e) from None
    return fold_cb


def _cb_inspect_debug(fn):
    def inspect_debug_cb(step_id, item, epoch, worker_index, *_):
        try:
            fn(step_id, from_variant(item), epoch, worker_index)
        except BaseException as e:
            raise _user_error(e) from None
    return inspect_debug_cb


# The converter of each callback type of libflow, by the type's name in the
# typelib. This is the only list here: the operators themselves are found
# in the typelib (see _stream_operators below), so a new operator whose
# callbacks are of these types needs nothing in this file.
_CONVERTERS = {
    "MapFunc": _cb_map,
    "PredicateFunc": _cb_predicate,
    "FilterMapFunc": _cb_filter_map,
    "FlatMapFunc": _cb_flat_map,
    "KeyFunc": _cb_key,
    "InspectFunc": _cb_inspect,
    "InspectDebugFunc": _cb_inspect_debug,
    "BuilderFunc": _cb_builder,
    "StatefulMapFunc": _cb_stateful_map,
    "StatefulFlatMapFunc": _cb_stateful_flat_map,
    "FoldFunc": _cb_fold,
}


# stateful, stateful_batch: builders of Flow.StatefulLogic /
# Flow.StatefulBatchLogic objects (see "Stateful logics" below).
def _cb_logic_builder(cls_name):
    def converter(fn):
        def logic_builder_cb(key, resume_state, *_):
            try:
                logic = fn(key, None if resume_state is None else from_variant(resume_state))
                cls = getattr(Flow, cls_name)
                if not isinstance(logic, cls):
                    raise TypeError(f"the builder must return a Flow.{cls_name}, not "
                                    f"{type(logic).__qualname__} ({logic!r})")
                return logic
            except BaseException as e:
                raise _user_error(e) from None
        return logic_builder_cb
    return converter


_CONVERTERS["StatefulLogicBuilder"] = _cb_logic_builder("StatefulLogic")
_CONVERTERS["StatefulBatchLogicBuilder"] = _cb_logic_builder("StatefulBatchLogic")


class _Function:
    """A function argument of an operator, as the typelib describes it."""

    __slots__ = ("name", "type_name", "optional", "bare")

    def __init__(self, arg, callback):
        self.name = arg.get_name()            # "mapper", "builder", ...
        self.type_name = callback.get_name()  # "MapFunc", ...
        self.optional = arg.may_be_null()
        # A callback whose only argument is its user_data (a builder):
        # PyGObject wants that user_data to be a tuple.
        self.bare = sum(1 for a in callback.get_arguments()
                        if a.get_name() not in ("user_data", "error")) == 0


def _stream_operators():
    """Yields ``(name, [_Function])`` for every method of Flow.Stream (in
    the typelib) that takes callbacks, and ``(name, [])`` for those that
    take a step id only."""
    for method in Flow.Stream.__info__.get_methods():
        args = [a for a in method.get_arguments()
                if a.get_direction() == _gi.Direction.IN]
        if not args or args[0].get_name() != "step_id":
            continue
        functions = []
        plain = True
        for arg in args[1:]:
            type_info = arg.get_type()
            iface = type_info.get_interface() if type_info.get_tag_as_string() == "interface" else None
            if isinstance(iface, _gi.CallbackInfo):
                if iface.get_name() != "DestroyNotify":
                    functions.append(_Function(arg, iface))
            elif arg.get_name() not in ("user_data",) and not arg.get_name().endswith("_data"):
                plain = False
        # Operators with other arguments (clocks, windowers, ...) have
        # their own methods below.
        if plain:
            yield method.get_name(), functions


def _gi_operator(name, functions):
    """The pure-Python implementation of an operator: (stream, step_id,
    *functions) -> what the operator returns, functions converted by the
    converter of their callback type; optional ones may be None."""
    gi_method = getattr(Flow.Stream, name)
    converters = []
    for f in functions:
        converter = _CONVERTERS.get(f.type_name)
        if converter is None:
            raise NotImplementedError(
                f"Flow.Stream.{name}: no converter for callbacks of type Flow.{f.type_name}")
        converters.append(converter)
    several = len(functions) > 1

    def impl(stream, step_id, *fns):
        args = [stream, step_id]
        for f, converter, fn in zip(functions, converters, fns):
            args.append(None if fn is None else converter(fn))
            if several:
                args.append(() if f.bare else None)
        result = gi_method(*args)
        return tuple(result) if isinstance(result, (list, tuple)) else result
    impl.__name__ = name
    return impl


# The pure-Python implementation of each operator that takes Python
# functions, from the typelib: {name: impl}.
_OPERATOR_FUNCTIONS = {}
_PYTHON_OPS = {}
for _name, _functions in _stream_operators():
    # An operator with a callback type this file has no converter for keeps
    # its plain GI method (GLib.Variant in and out) until one is added.
    if any(f.type_name not in _CONVERTERS for f in _functions):
        continue
    _OPERATOR_FUNCTIONS[_name] = _functions
    if _functions:
        _PYTHON_OPS[_name] = _gi_operator(_name, _functions)
del _name, _functions

# The native fast path implements an operator when it has a function of
# that name, called as ``_native.<name>(stream, step_id, *functions)`` with
# the same arguments as the pure-Python implementation above. Operators
# whose functions are all optional and missing (inspect, max_final, ...
# without a function) never reach it: libflow's own default needs no
# Python.
_native = None          # set at the end of this module


def _apply(stream, name, step_id, *functions):
    native = _native
    if native is not None and any(fn is not None for fn in functions):
        impl = getattr(native, name, None)
        if impl is not None:
            result = impl(stream, step_id, *functions)
            _check_flow(stream.get_dataflow())
            return result
    result = _PYTHON_OPS[name](stream, step_id, *functions)
    _check_flow(stream.get_dataflow())
    return result


def _need_callable(op, what, fn, optional=False):
    if fn is None and optional:
        return
    if not callable(fn):
        raise TypeError(f"{op}: {what} must be callable, not {type(fn).__qualname__}")


def _bind_functions(name, functions, given, named):
    """Matches the functions a caller gave (positionally and by name) to
    the operator's function arguments, the Bytewax way: optional functions
    may be left out, the leading ones first (``stateful_map(step_id,
    mapper)`` has no builder, ``inspect(step_id)`` no inspector)."""
    names = [f.name for f in functions]
    for key in named:
        if key not in names:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
    unfilled = [f for f in functions if f.name not in named]
    n_skip = len(unfilled) - len(given)
    if n_skip < 0:
        raise TypeError(f"{name}() takes the step id and at most {len(names)} "
                        f"function(s) ({', '.join(names)}), but {len(given) + len(named)} were given")
    skipped = [f.name for f in unfilled if f.optional][:n_skip]
    if len(skipped) < n_skip:
        required = [f.name for f in unfilled if not f.optional]
        missing = required[len(required) - (n_skip - len(skipped)):]
        raise TypeError(f"{name}() missing required argument(s): {', '.join(missing)}")
    values = dict(named)
    positional = iter(given)
    for f in unfilled:
        values[f.name] = None if f.name in skipped else next(positional)
    result = []
    for f in functions:
        fn = values[f.name]
        _need_callable(name, f.name, fn, optional=f.optional)
        result.append(fn)
    return result


def _make_operator_method(name, functions):
    if functions:
        def method(self, step_id, *given, **named):
            return _apply(self, name, step_id, *_bind_functions(name, functions, given, named))
        args = ", ".join(f"{f.name}=None" if f.optional else f.name for f in functions)
        method.__doc__ = (f"``{name}(step_id, {args})``: see Flow.Stream.{name}; the "
                          f"functions take and return plain Python values.")
    else:
        gi_method = getattr(Flow.Stream, name)

        def method(self, step_id):
            result = gi_method(self, step_id)
            _check_flow(self.get_dataflow())
            return result
        method.__doc__ = f"``{name}(step_id)``: see Flow.Stream.{name}."
    method.__name__ = method.__qualname__ = name
    return method


# --- join and enrich_cached (flow-join.h) ---

def _join_mode(enum, what, mode):
    """A Flow.JoinInsertMode / Flow.JoinEmitMode from itself or from
    Bytewax's lower-case name."""
    if isinstance(mode, enum):
        return mode
    value = getattr(enum, mode.upper(), None) if isinstance(mode, str) and mode.isalpha() else None
    if isinstance(value, enum):
        return value
    names = ", ".join(repr(v.value_nick) for v in enum.__enum_values__.values())
    raise ValueError(f"unknown join {what} mode {mode!r} (expected one of {names})")


_TTL_FOREVER = -1      # Flow.TTL_CACHE_FOREVER


def _ttl_usec(ttl):
    if ttl is None or ttl == _datetime.timedelta.max:
        return _TTL_FOREVER
    if isinstance(ttl, _datetime.timedelta):
        usec = (ttl.days * 86400 + ttl.seconds) * 1_000_000 + ttl.microseconds
    else:
        usec = int(round(float(ttl) * 1_000_000))
    if usec < 0:
        raise ValueError(f"a cache's ttl must not be negative, not {ttl!r}")
    return min(usec, 2 ** 63 - 1)


def _cb_enrich(fn):
    def enrich_cb(cache, item, *_):
        try:
            return to_variant(fn(cache, from_variant(item)))
        except BaseException as e:
            raise _user_error(e) from None
    return enrich_cb


class TTLCache(Flow.TTLCache):
    """A cache of values by key with a time to live (see Flow.TTLCache);
    keys and values are plain Python values. (The flow package's
    ``flow.operators.TTLCache`` is Bytewax's pure-Python one.)"""

    @classmethod
    def new(cls, getter, ttl=None):
        """A cache calling ``getter(key)`` on a miss; ``ttl`` a timedelta
        or seconds (None: for ever)."""
        _need_callable("TTLCache", "getter", getter)
        return Flow.TTLCache.new(_cb_map(getter), None, _ttl_usec(ttl))

    def get(self, key):
        """The cached value of ``key``, got anew if its time to live
        passed."""
        return from_variant(Flow.TTLCache.get(self, to_variant(key)))

    def remove(self, key):
        """Forgets the cached value of ``key``; returns whether there was
        one."""
        return Flow.TTLCache.remove(self, to_variant(key))


TTLCache = override(TTLCache)
__all__.append("TTLCache")


class Stream(Flow.Stream):
    """A stream of items; its operators take plain Python functions.

    Every operator of Flow.Stream is here: those that take functions (or
    only a step id) are made from the typelib; the others are below."""

    def merge(self, step_id, *others):
        """Combines this stream and ``others`` into one stream."""
        if len(others) == 1 and isinstance(others[0], (list, tuple)):
            others = tuple(others[0])
        result = Flow.Stream.merge(self, step_id, list(others))
        _check_flow(self.get_dataflow())
        return result

    def collect(self, step_id, timeout, max_size=0):
        """Collects each key's values into lists, emitted when
        ``max_size`` is reached, ``timeout`` (seconds or a timedelta)
        passed, or at the end of input."""
        if isinstance(timeout, _datetime.timedelta):
            timeout = timeout.total_seconds()
        result = Flow.Stream.collect(self, step_id, float(timeout), int(max_size))
        _check_flow(self.get_dataflow())
        return result

    def output(self, step_id, sink):
        """Writes the items to ``sink``."""
        Flow.Stream.output(self, step_id, _as_sink(sink))
        _check_flow(self.get_dataflow())

    # --- join and enrich_cached (flow-join.h) ---

    def join(self, step_id, *others, insert_mode="last", emit_mode="complete"):
        """Joins this keyed stream and ``others`` by key (see
        Flow.Stream.join). The modes are Bytewax's strings ("first",
        "last", "product"; "complete", "final", "running") or
        Flow.JoinInsertMode / Flow.JoinEmitMode values."""
        if len(others) == 1 and isinstance(others[0], (list, tuple)):
            others = tuple(others[0])
        insert = _join_mode(Flow.JoinInsertMode, "insert", insert_mode)
        emit = _join_mode(Flow.JoinEmitMode, "emit", emit_mode)
        result = Flow.Stream.join(self, step_id, list(others), insert, emit)
        _check_flow(self.get_dataflow())
        return result

    def enrich_cached(self, step_id, getter, mapper, ttl=None):
        """Enriches items from a cache (see Flow.Stream.enrich_cached):
        ``mapper(cache, item)`` makes each new item, and ``cache.get(key)``
        calls ``getter(key)`` on a miss or once the value is older than
        ``ttl`` (a timedelta or seconds; None: for ever). Keys and values
        are plain Python values."""
        _need_callable("enrich_cached", "getter", getter)
        _need_callable("enrich_cached", "mapper", mapper)
        result = Flow.Stream.enrich_cached(self, step_id, _cb_map(getter), None,
                                           _cb_enrich(mapper), None, _ttl_usec(ttl))
        _check_flow(self.get_dataflow())
        return result


for _name, _functions in _OPERATOR_FUNCTIONS.items():
    if _name not in Stream.__dict__:
        setattr(Stream, _name, _make_operator_method(_name, _functions))
del _name, _functions

Stream = override(Stream)
__all__.append("Stream")


# ---------------------------------------------------------------------------
# Window operators (flow-window-operators.h): Flow.Stream methods taking a
# clock and a windower (Flow.WindowClock, Flow.Windower, or an object with
# them as ``_c``, as flow.operators.windowing's) and plain Python functions.
# They return a Flow.WindowOut.
# ---------------------------------------------------------------------------

def _c_of(obj, cls, what):
    if isinstance(obj, cls):
        return obj
    c = getattr(obj, "_c", None)
    if isinstance(c, cls):
        return c
    raise TypeError(f"{what} must be a built-in {what} (a Flow.{cls.__info__.get_name()}); "
                    f"got {type(obj).__qualname__}")


def _window_call(self, name, step_id, clock, windower, *args):
    clock = _c_of(clock, Flow.WindowClock, "clock")
    windower = _c_of(windower, Flow.Windower, "windower")
    result = getattr(Flow.Stream, name)(self, step_id, clock, windower, *args)
    _check_flow(self.get_dataflow())
    return result


def _stream_collect_window(self, step_id, clock, windower, ordered=True):
    """Collects each key's values in each window into a list."""
    return _window_call(self, "collect_window", step_id, clock, windower, bool(ordered))


def _stream_count_window(self, step_id, clock, windower, key):
    """Counts the items per ``key(item)`` in each window."""
    _need_callable("count_window", "key", key)
    return _window_call(self, "count_window", step_id, clock, windower, _cb_key(key))


def _stream_fold_window(self, step_id, clock, windower, builder, folder, merger, ordered=True):
    """Folds each key's values in each window, from ``builder()``."""
    for what, fn in (("builder", builder), ("folder", folder), ("merger", merger)):
        _need_callable("fold_window", what, fn)
    return _window_call(self, "fold_window", step_id, clock, windower,
                        _cb_builder(builder), (), _cb_fold(folder), None,
                        _cb_fold(merger), None, bool(ordered))


def _stream_reduce_window(self, step_id, clock, windower, reducer, ordered=True):
    """Reduces each key's values in each window with ``reducer``."""
    _need_callable("reduce_window", "reducer", reducer)
    return _window_call(self, "reduce_window", step_id, clock, windower,
                        _cb_fold(reducer), None, bool(ordered))


def _stream_max_window(self, step_id, clock, windower, by=None):
    """The greatest value of each key in each window."""
    _need_callable("max_window", "by", by, optional=True)
    return _window_call(self, "max_window", step_id, clock, windower,
                        None if by is None else _cb_map(by))


def _stream_min_window(self, step_id, clock, windower, by=None):
    """The smallest value of each key in each window."""
    _need_callable("min_window", "by", by, optional=True)
    return _window_call(self, "min_window", step_id, clock, windower,
                        None if by is None else _cb_map(by))


def _stream_window(self, step_id, clock, windower, logic_type, ordered=True):
    """Windows each key's values with a Flow.WindowLogic subclass."""
    gtype = getattr(logic_type, "__gtype__", logic_type)
    return _window_call(self, "window", step_id, clock, windower, gtype, bool(ordered))


_JOIN_MODES = {"first": Flow.JoinInsertMode.FIRST, "last": Flow.JoinInsertMode.LAST,
               "product": Flow.JoinInsertMode.PRODUCT}


def _stream_join_window(self, step_id, clock, windower, others=(), insert_mode="last"):
    """Joins each key's values on this stream and ``others`` per window."""
    if isinstance(insert_mode, str):
        if insert_mode not in _JOIN_MODES:
            raise ValueError(f"join_window: insert_mode must be one of {sorted(_JOIN_MODES)}, "
                             f"not {insert_mode!r}")
        insert_mode = _JOIN_MODES[insert_mode]
    return _window_call(self, "join_window", step_id, clock, windower, list(others), insert_mode)


for _name, _fn in (("window", _stream_window),
                   ("join_window", _stream_join_window),
                   ("collect_window", _stream_collect_window),
                   ("count_window", _stream_count_window),
                   ("fold_window", _stream_fold_window),
                   ("reduce_window", _stream_reduce_window),
                   ("max_window", _stream_max_window),
                   ("min_window", _stream_min_window)):
    _fn.__name__ = _fn.__qualname__ = _name
    setattr(Stream, _name, _fn)
del _name, _fn


def _as_source(source):
    if isinstance(source, Flow.Source):
        return source
    to_flow = getattr(source, "_to_flow_source", None)
    if to_flow is not None:
        return to_flow()
    raise TypeError(f"expected a Flow.Source, not {type(source).__qualname__}")


def _as_sink(sink):
    if isinstance(sink, Flow.Sink):
        return sink
    to_flow = getattr(sink, "_to_flow_sink", None)
    if to_flow is not None:
        return to_flow()
    raise TypeError(f"expected a Flow.Sink, not {type(sink).__qualname__}")


class Dataflow(Flow.Dataflow):
    """A named graph of steps: ``Flow.Dataflow("id")`` or
    ``Flow.Dataflow.new("id")``."""

    def __init__(self, id=None, **kwargs):
        if id is not None:
            kwargs["id"] = id
        super().__init__(**kwargs)
        _check_flow(self)           # a bad dataflow id raises here

    def input(self, step_id, source):
        """Adds an input step reading from ``source``."""
        result = Flow.Dataflow.input(self, step_id, _as_source(source))
        _check_flow(self)
        return result


Dataflow = override(Dataflow)
__all__.append("Dataflow")


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------

class Runner(Flow.Runner):
    """Runs a dataflow. A failed run raises: the exception a Python
    function raised (with a note naming the step and key), or the
    ``GLib.Error`` of libflow."""

    def __init__(self, dataflow=None, **kwargs):
        if dataflow is not None:
            kwargs["dataflow"] = dataflow
        super().__init__(**kwargs)

    def run(self, cancellable=None):
        """Runs the dataflow until all its input ended."""
        native_run = getattr(_native, "run", None)
        slot = _RunSlot()
        stack = _runs.__dict__.setdefault("stack", [])
        stack.append(slot)
        try:
            if native_run is not None:
                # Keeps the GIL while items are processed: cheaper callbacks.
                return native_run(self, cancellable)
            return Flow.Runner.run(self, cancellable)
        except GLib.Error as e:
            _raise_run_error(e, slot)
        finally:
            stack.remove(slot)

    def run_async(self, cancellable=None, callback=None, *user_data):
        """Runs the dataflow in the thread-default main context; calls
        ``callback(runner, result, *user_data)`` at the end, where
        :meth:`run_finish` gives the outcome."""
        slot = _RunSlot()
        thread = threading.get_ident()
        with _async_lock:
            _async_runs.setdefault(thread, []).append(slot)

        def done(runner, result, *data):
            runner._flow_async_slot = slot
            try:
                if callback is not None:
                    callback(runner, result, *data)
            finally:
                runner.__dict__.pop("_flow_async_slot", None)
                with _async_lock:
                    slots = _async_runs.get(thread, [])
                    if slot in slots:
                        slots.remove(slot)
                    if not slots:
                        _async_runs.pop(thread, None)
        return Flow.Runner.run_async(self, cancellable, done, *user_data)

    def run_finish(self, result):
        """Gets the result of :meth:`run_async`, raising like :meth:`run`."""
        try:
            return Flow.Runner.run_finish(self, result)
        except GLib.Error as e:
            _raise_run_error(e, self.__dict__.get("_flow_async_slot") or _RunSlot())

    def run_with_args(self, argv=None):
        """Parses the standard options in ``argv`` (default ``sys.argv``)
        and runs; returns the exit status (0, 1 if the run failed, 2 for bad
        arguments). An exception of a Python function is printed with its
        traceback."""
        argv = list(sys.argv if argv is None else argv)
        if any(a in ("-h", "--help", "-?") for a in argv[1:]):
            return Flow.Runner.run_with_args(self, argv)
        prog = argv[0] if argv else "flow"
        try:
            rest = Flow.Runner.parse_args(self, argv)
            if isinstance(rest, tuple):
                rest = rest[-1]
            rest = list(rest)
        except GLib.Error as e:
            print(f"{prog}: {e.message}\nTry '{prog} --help'.", file=sys.stderr)
            return 2
        if len(rest) > 1:
            print(f"{prog}: unexpected argument '{rest[1]}'\nTry '{prog} --help'.",
                  file=sys.stderr)
            return 2
        try:
            self.run(None)
        except GLib.Error as e:
            sys.stdout.flush()
            print(f"{prog}: {e.message}", file=sys.stderr)
            return 1
        except Exception:
            sys.stdout.flush()
            traceback.print_exc()
            return 1
        return 0


Runner = override(Runner)
__all__.append("Runner")


# ---------------------------------------------------------------------------
# Sources and sinks implemented in Python
# ---------------------------------------------------------------------------
#
# The do_* methods of Python subclasses are wrapped when the subclass is
# made (before PyGObject hooks them up): exceptions go to the run's error,
# and results may be plain Python values.

_EPOCH = _datetime.datetime(1970, 1, 1, tzinfo=_datetime.timezone.utc)


def _monotonic_from(when):
    """A next_awake value: monotonic µs from an int, a datetime or None.
    A datetime (aware, or naive local) is measured against the run's
    clock (its Flow.TestClock, if it has one), in whole microseconds."""
    if when is None:
        return 0
    if isinstance(when, _datetime.datetime):
        if when.tzinfo is None:
            when = when.astimezone()      # naive: local time
        when_us = (when - _EPOCH) // _datetime.timedelta(microseconds=1)
        delta = when_us - Flow.get_real_time()
        return Flow.get_monotonic_time() + max(0, delta)
    return int(when)


def _wrap_vfunc(name, fn):
    if getattr(fn, "_flow_wrapped", False):
        return fn

    if name == "do_next_batch":
        def vfunc(self, *args):
            try:
                result = fn(self, *args)
                return None if result is None else _to_array(result, "next_batch()")
            except BaseException as e:
                raise _user_error(e) from None
    elif name == "do_snapshot":
        def vfunc(self, *args):
            try:
                result = fn(self, *args)
                return None if result is None else to_variant(result)
            except BaseException as e:
                raise _user_error(e) from None
    elif name in ("do_close", "do_write_batch"):
        def vfunc(self, *args):
            try:
                result = fn(self, *args)
                return True if result is None else bool(result)
            except BaseException as e:
                raise _user_error(e) from None
    elif name == "do_next_awake":
        # No GError here: a failure is raised by the next next_batch().
        def vfunc(self, *args):
            try:
                return _monotonic_from(fn(self, *args))
            except BaseException as e:
                self._flow_failure = e
                return 0
    elif name == "do_list_parts":
        def vfunc(self, *args):
            try:
                return [str(p) for p in fn(self, *args)]
            except BaseException as e:
                raise _user_error(e) from None
    elif name == "do_build_part":
        def vfunc(self, *args):
            try:
                return fn(self, *args)
            except BaseException as e:
                raise _user_error(e) from None
    else:
        return fn

    vfunc._flow_wrapped = True
    vfunc.__name__ = fn.__name__
    vfunc.__qualname__ = getattr(fn, "__qualname__", fn.__name__)
    vfunc.__doc__ = fn.__doc__
    vfunc.__wrapped__ = fn
    return vfunc


def _wrap_next_batch_failure(fn):
    # A partition's next_awake failure is raised by its next next_batch.
    def vfunc(self, *args):
        failure = self.__dict__.pop("_flow_failure", None)
        if failure is not None:
            raise _user_error(failure) from None
        return fn(self, *args)
    vfunc._flow_wrapped = True
    vfunc.__name__ = fn.__name__
    vfunc.__wrapped__ = getattr(fn, "__wrapped__", fn)
    return vfunc


def _wrap_vfuncs(cls, names):
    for name in names:
        fn = cls.__dict__.get(name)
        if fn is None or not callable(fn):
            continue
        wrapped = _wrap_vfunc(name, fn)
        if name == "do_next_batch" and not getattr(fn, "_flow_next_batch", False):
            wrapped = _wrap_next_batch_failure(wrapped)
            wrapped._flow_next_batch = True
        setattr(cls, name, wrapped)


class SourcePartition(Flow.SourcePartition):
    """Subclass and implement ``do_next_batch`` (returning a list of items,
    or None at the end of input), and optionally ``do_snapshot``,
    ``do_next_awake`` (monotonic µs or a datetime; 0 or None: at once)
    and ``do_close``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _wrap_vfuncs(cls, ("do_next_batch", "do_snapshot", "do_next_awake", "do_close"))


SourcePartition = override(SourcePartition)
__all__.append("SourcePartition")


class Source(Flow.Source):
    """Subclass and implement ``do_build_part(step_id, part_key,
    resume_state)``, and ``do_list_parts`` for more than one partition."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _wrap_vfuncs(cls, ("do_list_parts", "do_build_part"))


Source = override(Source)
__all__.append("Source")


class SinkPartition(Flow.SinkPartition):
    """Subclass and implement ``do_write_batch(items)`` (a list of
    GLib.Variant items; ``Flow.from_variant`` makes them plain values),
    and optionally ``do_snapshot`` and ``do_close``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _wrap_vfuncs(cls, ("do_write_batch", "do_snapshot", "do_close"))


SinkPartition = override(SinkPartition)
__all__.append("SinkPartition")


class Sink(Flow.Sink):
    """Subclass and implement ``do_build_part(step_id, part_key,
    resume_state)``, and ``do_list_parts`` for more than one partition."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _wrap_vfuncs(cls, ("do_list_parts", "do_build_part"))


Sink = override(Sink)
__all__.append("Sink")


# ---------------------------------------------------------------------------
# Stateful logics implemented in Python
# ---------------------------------------------------------------------------
#
# Subclass Flow.StatefulLogic (or Flow.StatefulBatchLogic) and implement
# do_on_item(value) (do_on_batch(values)) and do_snapshot(), and optionally
# do_on_notify(), do_on_eof() and do_notify_at(). Values are plain Python
# values. The methods that emit return Bytewax's `(emit, discard)`: an
# iterable of values to emit with the key and RETAIN (False) or DISCARD
# (True). do_notify_at returns None, an aware datetime or UTC microseconds
# since the epoch (the run's clock: Flow.get_real_time()).

_EPOCH = _datetime.datetime(1970, 1, 1, tzinfo=_datetime.timezone.utc)
_USEC = _datetime.timedelta(microseconds=1)


def _usec_from(when):
    """A notify_at time: UTC µs since the epoch, from an aware datetime or
    an int."""
    if isinstance(when, _datetime.datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"notify_at must return an aware datetime (with a tzinfo), "
                             f"not the naive {when!r}")
        return (when - _EPOCH) // _USEC
    if isinstance(when, bool) or not isinstance(when, int):
        raise TypeError(f"notify_at must return None, an aware datetime or UTC microseconds, "
                        f"not {type(when).__qualname__} ({when!r})")
    return when


def _emit_answer(result, method):
    """Bytewax's (emit, discard) as what the vfunc returns."""
    try:
        emit, discard = result
    except (TypeError, ValueError):
        raise TypeError(f"{method}() must return a 2-tuple (emit, discard), not "
                        f"{type(result).__qualname__} ({result!r})") from None
    if type(discard) is int and discard in (0, 1):     # Flow.STATEFUL_LOGIC_*
        discard = bool(discard)
    if not isinstance(discard, bool):
        raise TypeError(f"{method}(): discard must be a bool (RETAIN or DISCARD), not "
                        f"{type(discard).__qualname__} ({discard!r})")
    if emit is None:
        return None, discard
    return _to_array(emit, f"{method}()"), discard


def _wrap_logic_vfunc(name, fn):
    if getattr(fn, "_flow_wrapped", False):
        return fn
    method = name[3:]
    if name in ("do_on_item", "do_on_batch"):
        def vfunc(self, values):
            try:
                return _emit_answer(fn(self, from_variant(values)), method)
            except BaseException as e:
                raise _user_error(e) from None
    elif name in ("do_on_notify", "do_on_eof"):
        def vfunc(self):
            try:
                return _emit_answer(fn(self), method)
            except BaseException as e:
                raise _user_error(e) from None
    elif name == "do_notify_at":
        def vfunc(self):
            try:
                when = fn(self)
                if when is None:
                    return False, 0
                return True, _usec_from(when)
            except BaseException as e:
                raise _user_error(e) from None
    elif name == "do_snapshot":
        def vfunc(self):
            try:
                return to_variant(fn(self))
            except BaseException as e:
                raise _user_error(e) from None
    else:
        return fn
    vfunc._flow_wrapped = True
    vfunc.__name__ = fn.__name__
    vfunc.__qualname__ = getattr(fn, "__qualname__", fn.__name__)
    vfunc.__doc__ = fn.__doc__
    vfunc.__wrapped__ = fn
    return vfunc


def _wrap_logic_vfuncs(cls, names):
    for name in names:
        fn = cls.__dict__.get(name)
        if fn is not None and callable(fn):
            setattr(cls, name, _wrap_logic_vfunc(name, fn))


class StatefulLogic(Flow.StatefulLogic):
    """The logic of one key of ``Stream.stateful``: subclass and implement
    ``do_on_item(value) -> (emit, discard)`` and ``do_snapshot()``, and
    optionally ``do_on_notify()``, ``do_on_eof()`` (both ``-> (emit,
    discard)``) and ``do_notify_at()`` (None, an aware datetime or UTC µs).
    ``discard`` is ``RETAIN`` (False) or ``DISCARD`` (True)."""

    RETAIN = False
    DISCARD = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _wrap_logic_vfuncs(cls, ("do_on_item", "do_on_notify", "do_on_eof",
                                 "do_notify_at", "do_snapshot"))


StatefulLogic = override(StatefulLogic)
__all__.append("StatefulLogic")


class StatefulBatchLogic(Flow.StatefulBatchLogic):
    """As :class:`StatefulLogic`, with ``do_on_batch(values) -> (emit,
    discard)`` (``values``: the list of a key's values in a batch) in place
    of ``do_on_item``."""

    RETAIN = False
    DISCARD = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _wrap_logic_vfuncs(cls, ("do_on_batch", "do_on_notify", "do_on_eof",
                                 "do_notify_at", "do_snapshot"))


StatefulBatchLogic = override(StatefulBatchLogic)
__all__.append("StatefulBatchLogic")

# ---------------------------------------------------------------------------
# Testing connectors
# ---------------------------------------------------------------------------

class TestingSource(Flow.TestingSource):
    """``Flow.TestingSource([1, 2, 3], batch_size=1)``: a source over a
    list of plain values (or an array GLib.Variant)."""

    __test__ = False  # not a pytest test class

    def __init__(self, items=None, batch_size=1, **kwargs):
        if items is not None:
            kwargs["items"] = items if isinstance(items, _Variant) else to_variant(list(items))
        kwargs.setdefault("batch_size", batch_size)
        super().__init__(**kwargs)

    @classmethod
    def new(cls, items):
        """Creates a testing source over ``items``: an array GLib.Variant
        or a list of plain values."""
        return cls(items)


TestingSource = override(TestingSource)
__all__.append("TestingSource")


class TestingSink(Flow.TestingSink):
    """Collects items; :meth:`get_values` returns them as plain values."""

    __test__ = False  # not a pytest test class

    def get_values(self):
        """Returns the items collected so far as plain Python values."""
        return from_variant(self.get_items())


TestingSink = override(TestingSink)
__all__.append("TestingSink")


# ---------------------------------------------------------------------------
# The native fast path
# ---------------------------------------------------------------------------
#
# Imported last, so that an extension importing gi.repository.Flow while it
# initialises gets the classes above (but not yet the module functions of
# __all__, which PyGObject adds once this module is done).

if os.environ.get("FLOW_PYTHON_NATIVE", "") != "0":
    try:
        from . import _flow_native as _native    # private to this override
    except ImportError:
        _native = None

# The pure-Python conversions stay available as the reference.
_py_to_variant = to_variant
_py_from_variant = from_variant

if _native is not None:
    # Exceptions the native callbacks catch go to the run's slot too.
    if hasattr(_native, "set_exception_hook"):
        _native.set_exception_hook(_stash)
    # Same rules, in C; also used for the children of containers above.
    to_variant = getattr(_native, "to_variant", to_variant)
    from_variant = getattr(_native, "from_variant", from_variant)
