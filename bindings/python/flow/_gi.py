# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GObject-Introspection API the flow package is built on."""

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Flow", "1")

from gi.repository import GLib, Flow  # noqa: E402

__all__ = ["Flow", "GLib", "is_flow_error"]


def is_flow_error(error, *codes):
    """Whether ``error`` is a ``GLib.Error`` of libflow with one of
    ``codes`` (any code when none is given)."""
    if not isinstance(error, GLib.Error):
        return False
    if error.domain != GLib.quark_to_string(Flow.error_quark()):
        return False
    return not codes or error.code in [int(c) for c in codes]
