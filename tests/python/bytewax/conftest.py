# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fixtures of Bytewax's pytests/conftest.py the ported tests use,
with bytewax -> flow."""

from datetime import timedelta

import pytest

from flow.recovery import RecoveryConfig, init_db_dir


@pytest.fixture
def recovery_config(tmp_path):
    init_db_dir(tmp_path, 1)
    yield RecoveryConfig(str(tmp_path))


@pytest.fixture
def recovery_config_immediate(tmp_path):
    # Bytewax: backup_interval=timedelta(seconds=0)
    init_db_dir(tmp_path, 1)
    yield RecoveryConfig(str(tmp_path), backup_interval=timedelta(seconds=0))


@pytest.fixture(params=["run_main", "cli_main"])
def entry_point_name(request):
    return request.param


@pytest.fixture
def entry_point(entry_point_name):
    if entry_point_name == "run_main":
        from flow.testing import run_main
        return run_main
    if entry_point_name == "cluster_main-1thread":
        from flow.testing import cluster_main
        return lambda flow, **kwargs: cluster_main(flow, [], 0, **kwargs)
    from flow.run import cli_main
    return cli_main
