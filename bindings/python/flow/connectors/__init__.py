# SPDX-License-Identifier: LGPL-2.1-or-later
"""Built-in connectors: :mod:`flow.connectors.stdio` and
:mod:`flow.connectors.files`."""
