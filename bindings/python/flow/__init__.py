# SPDX-License-Identifier: LGPL-2.1-or-later
"""libflow for Python, with Bytewax's module layout.

A Bytewax script runs with libflow once ``bytewax`` is replaced by
``flow``::

    import flow.operators as op
    from flow.dataflow import Dataflow
    from flow.testing import TestingSource
    from flow.connectors.stdio import StdOutSink

    flow = Dataflow("recovery")
    ...

and is run with ``python3 -m flow.run script.py -r db_dir/ -s 30 -b 180``.

The modules: :mod:`flow.dataflow`, :mod:`flow.operators`,
:mod:`flow.testing`, :mod:`flow.inputs`, :mod:`flow.outputs`,
:mod:`flow.connectors.stdio`, :mod:`flow.connectors.files`,
:mod:`flow.recovery` and :mod:`flow.run`. They are built on the
GObject-Introspection API (``from gi.repository import Flow``), which can
be mixed in: a ``Flow.Source`` or ``Flow.Sink`` can be given to
``op.input`` / ``op.output``.
"""

# Parts of this package may live in more than one sys.path entry (the
# source tree and the build tree, in `meson devenv` and the tests): look
# for package portions in every entry. (The native fast path is not one of
# them any more: it is the override's own, gi.overrides._flow_native.)
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
