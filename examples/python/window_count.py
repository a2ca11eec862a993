#!/usr/bin/env python3
# window_count.py: events per user and minute, in event time.
#
#   python3 -m flow.run window_count.py
#   python3 -m flow.run "window_count.py:get_flow('other.txt')"
#
# Each line of the file (default ../data/events.txt) is an event
# "TIMESTAMP USER" with an ISO 8601 UTC timestamp. The events of each user
# are counted in tumbling one-minute windows of event time; an event may
# come up to 10 seconds after later ones of its user (the event clock's
# wait), later than that it is late. Prints, as each window closes,
# "USER HH:MM:SS COUNT" (the window's start), and for each late event
# "late USER HH:MM:SS" (its time). The same as examples/c/window-count.c.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from datetime import datetime, timedelta, timezone
from pathlib import Path

import flow.operators as op
import flow.operators.windowing as win
from flow.connectors.files import FileSource
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "events.txt"
ALIGN_TO = datetime(2024, 1, 1, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def event_time(line):
    return datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00"))


def event_user(line):
    return line.split(" ", 1)[1]


def format_count(user_window_count):
    user, (window_id, count) = user_window_count
    return f"{user} {(ALIGN_TO + window_id * MINUTE):%H:%M:%S} {count}"


def format_late(user_window_line):
    user, (_window_id, line) = user_window_line
    return f"late {user} {event_time(line):%H:%M:%S}"


def get_flow(path=SAMPLE):
    flow = Dataflow("window_count")
    lines = op.input("inp", flow, FileSource(path))
    clock = win.EventClock(event_time, wait_for_system_duration=timedelta(seconds=10))
    windower = win.TumblingWindower(length=MINUTE, align_to=ALIGN_TO)
    counts = win.count_window("count", lines, clock, windower, event_user)
    op.output("out", op.map("format", counts.down, format_count), StdOutSink())
    op.output("out_late", op.map("format_late", counts.late, format_late), StdOutSink())
    return flow


flow = get_flow()
