# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connectors for local demo dataflows, as :mod:`bytewax.connectors.demo`."""

import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, List, Optional, Tuple

from .._gi import run_now
from ..inputs import FixedPartitionedSource, StatefulSourcePartition

__all__ = ["RandomMetricSource"]


@dataclass
class _RandomMetricState:
    awake_at: datetime
    count: int


class _RandomMetricPartition(StatefulSourcePartition[Tuple[str, Any], _RandomMetricState]):
    def __init__(self, metric_name, interval, count, next_random, state):
        self._metric_name = metric_name
        self._interval = interval
        self._count = count
        self._next_random = next_random
        self._state = state

    def next_batch(self) -> List[Tuple[str, Any]]:
        if self._state.count >= self._count:
            raise StopIteration()
        self._state.awake_at += self._interval
        self._state.count += 1
        return [(self._metric_name, self._next_random())]

    def next_awake(self) -> Optional[datetime]:
        return self._state.awake_at

    def snapshot(self) -> _RandomMetricState:
        return _RandomMetricState(self._state.awake_at, self._state.count)


class RandomMetricSource(FixedPartitionedSource[Tuple[str, Any], _RandomMetricState]):
    """A source of ``(metric_name, value)`` 2-tuples of random values,
    one every ``interval``, ``count`` of them (endless by default).

    To emit several metrics, make several input steps and merge them.

    :arg metric_name: the name attached to each value (and the name of
        the only partition).
    :arg interval: the time between two values; 0.7 seconds by default.
    :arg count: how many values to emit.
    :arg next_random: makes the next value; a random ``int`` from 0 to 9
        by default.

    It resumes: a resumed run goes on counting from the last snapshot.
    """

    def __init__(self, metric_name: str, interval: timedelta = timedelta(seconds=0.7),
                 count: int = sys.maxsize,
                 next_random: Callable[[], Any] = lambda: random.randrange(0, 10)):
        if not isinstance(metric_name, str):
            raise TypeError(f"metric_name must be a `str`; got a {type(metric_name)!r} instead")
        self.metric_name = metric_name
        self.interval = interval
        self.count = count
        self.next_random = next_random

    def list_parts(self) -> List[str]:
        """One partition, named after the metric."""
        return [self.metric_name]

    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[_RandomMetricState]) -> _RandomMetricPartition:
        """Builds the partition, resuming the count and the next awake time."""
        state = resume_state
        if state is None:
            state = _RandomMetricState(run_now(), 0)
        return _RandomMetricPartition(for_part, self.interval, self.count, self.next_random,
                                      state)
