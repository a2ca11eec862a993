# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for writing the functions given to operators, as
:mod:`bytewax.operators.helpers`."""

from typing import Callable, Dict, TypeVar

__all__ = ["map_dict_value"]

K = TypeVar("K")
V = TypeVar("V")


def map_dict_value(key: K, mapper: Callable[[V], V]) -> Callable[[Dict[K, V]], Dict[K, V]]:
    """Builds a mapper for :func:`flow.operators.map` that maps the value
    of one key of a dict item and leaves the other values as they are
    (a *lens*)::

        s = op.map("normalize", s, map_dict_value("name", str.upper))
        # {"name": "Rachel", "email": "r@w.com"} -> {"name": "RACHEL", "email": "r@w.com"}

    :arg key: the key whose value to map; an item without it raises
        :class:`KeyError` (which stops the run).
    :arg mapper: the function applied to that value.
    :returns: the mapper, which returns the dict it was given, changed.
    """

    def shim_mapper(obj: Dict[K, V]) -> Dict[K, V]:
        obj[key] = mapper(obj[key])
        return obj

    return shim_mapper
