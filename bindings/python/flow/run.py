# SPDX-License-Identifier: LGPL-2.1-or-later
"""Running dataflows, as :mod:`bytewax.run`.

::

    python3 -m flow.run dataflow.py[:attr] [-r DIR -s SECONDS -b SECONDS] [-w N]

imports ``dataflow.py`` (a file or a module name) and runs its dataflow:
the variable ``flow`` by default, or ``attr``, which may also be a function
returning the dataflow, called with literal arguments
(``"dataflow:get_flow('x')"``). With ``-r``, the dataflow snapshots into
and resumes from the recovery partitions in DIR (create them with
``python3 -m flow.recovery DIR N``); ``-s`` and ``-b`` must then be given
too. Seconds may be fractional. See ``python3 -m flow.run --help``.

Bytewax's cluster options ``-i/--process-id`` and ``-a/--addresses`` are
refused with a message saying so (exit status 2): libflow runs a dataflow
in one process. An exception of user code ends the run with its
traceback (a :class:`flow.errors.FlowRuntimeError` caused by it); libflow's
own errors (bad input, recovery directories) are printed as one message;
both exit with status 1. Ctrl-C stops the run (``KeyboardInterrupt``).
"""

import argparse
import ast
import inspect
import os
import sys
from datetime import timedelta
from pathlib import Path

try:
    from ._gi import Flow, GLib
except ImportError as e:
    if __name__ == "__main__":
        sys.exit(f"python3 -m flow.run: error: {e}")
    raise
from .dataflow import Dataflow
from .errors import FlowRuntimeError
from .recovery import RecoveryConfig, RecoveryError
from .testing import _run

__all__ = ["cli_main"]


def cli_main(flow, *, workers_per_process=1, process_id=None, addresses=None,
             epoch_interval=None, recovery_config=None):
    """Runs a dataflow in this process, as ``python3 -m flow.run`` does.

    :arg workers_per_process: the number of workers (threads of C and Vala
        code; in Python they share the caller's thread: docs/workers.md).
    :arg epoch_interval: how often to snapshot (a timedelta); 10 seconds
        by default.
    :arg recovery_config: a :class:`flow.recovery.RecoveryConfig`, or None
        to run without recovery.

    Clusters of several processes (``process_id``, ``addresses``) are not
    supported. An execution aborted by a testing ABORT marker returns.
    """
    if process_id not in (None, 0) or len(addresses or ()) > 1:
        raise NotImplementedError("libflow does not run clusters of several processes yet")
    return _run(flow, epoch_interval=epoch_interval, recovery_config=recovery_config,
                workers=workers_per_process)


def _locate_dataflow(module_name, dataflow_name):
    """Imports a module and finds the dataflow in it: a variable, or a
    function called with literal arguments."""
    try:
        __import__(module_name)
    except ImportError as ex:
        if ex.name == module_name:
            raise ImportError(f"Could not import {module_name!r}.") from None
        raise
    module = sys.modules[module_name]

    try:
        expr = ast.parse(dataflow_name.strip(), mode="eval").body
    except SyntaxError:
        raise SyntaxError(f"Failed to parse {dataflow_name!r} as an attribute name "
                          f"or function call") from None
    if isinstance(expr, ast.Name):
        name, args, kwargs = expr.id, [], {}
    elif isinstance(expr, ast.Call):
        if not isinstance(expr.func, ast.Name):
            raise TypeError(f"Function reference must be a simple name: {dataflow_name!r}.")
        name = expr.func.id
        try:
            args = [ast.literal_eval(arg) for arg in expr.args]
            kwargs = {str(kw.arg): ast.literal_eval(kw.value) for kw in expr.keywords}
        except ValueError:
            raise ValueError(f"Failed to parse arguments as literal values: "
                             f"{dataflow_name!r}") from None
    else:
        raise ValueError(f"Failed to parse {dataflow_name!r} as an attribute name or "
                         f"function call")

    try:
        attr = getattr(module, name)
    except AttributeError as e:
        raise AttributeError(f"Failed to find attribute {name!r} in "
                             f"{module.__name__!r}.") from e
    dataflow = attr(*args, **kwargs) if inspect.isfunction(attr) else attr
    if isinstance(dataflow, (Dataflow, Flow.Dataflow)):
        return dataflow
    raise RuntimeError(f"A valid dataflow was not obtained from "
                       f"'{module.__name__}:{dataflow_name}'")


def _prepare_import(import_str):
    """Turns ``path/to/file.py[:attr]`` into ``module[:attr]``, adding the
    directory to ``sys.path`` (as Bytewax and Flask do)."""
    path, _, flow_name = import_str.partition(":")
    if not flow_name:
        flow_name = "flow"
    path = os.path.realpath(path)
    fname, ext = os.path.splitext(path)
    if ext == ".py":
        path = fname
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    module_name = []
    while True:
        path, name = os.path.split(path)
        module_name.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break
    if sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(module_name[::-1]) + f":{flow_name}"


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, not {text!r}")
    return timedelta(seconds=value)


def _workers(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class _EnvDefault(argparse.Action):
    """Uses an environment variable as the default."""

    def __init__(self, envvar, default=None, **kwargs):
        if envvar:
            default = os.environ.get(envvar, default)
            kwargs["help"] += f" [env: {envvar}]"
        super().__init__(default=default, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)


def _create_arg_parser():
    parser = argparse.ArgumentParser(prog="python3 -m flow.run",
                                     description="Run a libflow dataflow")
    parser.add_argument(
        "import_str",
        help="Dataflow import string: <file.py or module>[:<dataflow variable or "
             "factory call>], for example src/dataflow.py or src.dataflow:flow or "
             "\"src.dataflow:get_flow('string_argument')\"; the variable is 'flow' by default")
    recovery = parser.add_argument_group(
        "Recovery", "See `python3 -m flow.recovery --help` to create recovery partitions.")
    recovery.add_argument(
        "-r", "--recovery-directory", type=Path, action=_EnvDefault,
        envvar="FLOW_RECOVERY_DIRECTORY",
        help="Local directory of pre-initialised recovery partitions")
    parser.add_argument(
        "-s", "--snapshot-interval", type=_seconds, action=_EnvDefault,
        envvar="FLOW_SNAPSHOT_INTERVAL",
        help="System time in seconds (fractional allowed) between state snapshots; "
             "on resume, the dataflow may replay the data of one such interval")
    recovery.add_argument(
        "-b", "--backup-interval", type=_seconds, action=_EnvDefault,
        envvar="FLOW_RECOVERY_BACKUP_INTERVAL",
        help="System time in seconds to keep older state snapshots; set it to how "
             "often the recovery partitions are backed up")
    scaling = parser.add_argument_group(
        "Scaling", "libflow runs one process; -i/--process-id and -a/--addresses "
        "(Bytewax's clusters of processes) are refused")
    scaling.add_argument(
        "-w", "--workers-per-process", type=_workers, action=_EnvDefault,
        envvar="FLOW_WORKERS_PER_PROCESS",
        help="Number of workers in this process (default 1)")
    scaling.add_argument(
        "-i", "--process-id", type=int, action=_EnvDefault, envvar="FLOW_PROCESS_ID",
        help="Not supported: the id of this process in a cluster")
    scaling.add_argument(
        "-a", "--addresses", action=_EnvDefault, envvar="FLOW_ADDRESSES",
        help="Not supported: the addresses of the processes of a cluster")
    parser.add_argument(
        "--metrics-address", metavar="HOST:PORT", action=_EnvDefault,
        envvar="FLOW_METRICS_ADDRESS",
        help="Serve the run's metrics (Prometheus text format) at "
             "http://HOST:PORT/metrics while it runs; PORT 0 picks a free port")
    return parser


_CLUSTER_REFUSED = ("-i/--process-id and -a/--addresses run a dataflow on a cluster of "
                    "processes, which libflow does not do yet: it runs in one process "
                    "(use -w for more workers)")


def _parse_args(argv=None, prog=None):
    parser = _create_arg_parser()
    if prog is not None:
        parser.prog = prog
    args = parser.parse_args(argv)
    # Values from the environment come as strings.
    for name, conv in (("snapshot_interval", _seconds), ("backup_interval", _seconds),
                       ("workers_per_process", _workers)):
        value = getattr(args, name)
        if isinstance(value, str):
            try:
                setattr(args, name, conv(value))
            except argparse.ArgumentTypeError as e:
                parser.error(f"argument --{name.replace('_', '-')}: {e}")
    if isinstance(args.recovery_directory, str):
        args.recovery_directory = Path(args.recovery_directory)
    if args.process_id is not None or args.addresses is not None:
        parser.error(_CLUSTER_REFUSED)
    if args.recovery_directory is not None and (
            args.snapshot_interval is None or args.backup_interval is None):
        parser.error("when running with recovery, the `-s/--snapshot-interval` and "
                     "`-b/--backup-interval` values must be set")
    args.import_str = _prepare_import(args.import_str)
    return parser, args


def _main(argv=None, prog=None):
    parser, args = _parse_args(argv, prog)
    module_str, _, attrs_str = args.import_str.partition(":")
    dataflow = _locate_dataflow(module_str, attrs_str)

    recovery_config = None
    if args.recovery_directory is not None:
        recovery_config = RecoveryConfig(args.recovery_directory, args.backup_interval)
    epoch_interval = args.snapshot_interval
    if epoch_interval is None:
        epoch_interval = timedelta(seconds=10)
    try:
        completed = _run(dataflow, epoch_interval=epoch_interval,
                         recovery_config=recovery_config,
                         workers=args.workers_per_process or 1,
                         metrics_address=args.metrics_address)
    except (RecoveryError, GLib.Error, FlowRuntimeError) as e:
        # A failure of user code is shown with its traceback, which is what
        # helps; libflow's own errors (bad input, recovery) as a message.
        if getattr(e, "_flow_user_error", False):
            raise
        sys.stdout.flush()
        message = e.message if isinstance(e, GLib.Error) else str(e)
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 1
    if not completed:
        sys.stdout.flush()
        print(f"{parser.prog}: the execution was aborted (by a testing ABORT marker); "
              f"run again to resume from the last snapshot", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
