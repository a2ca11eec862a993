# SPDX-License-Identifier: LGPL-2.1-or-later
"""Joins two streams by key: users' names and users' e-mail addresses,
keyed by user id. Prints ('id', (name, email)) for each user once both
are known; a user with no address is never printed.

    python3 -m flow.run join_users.py

examples/c/join.c is the same flow in C and prints the same lines.
"""

import flow.operators as op
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow
from flow.testing import TestingSource

flow = Dataflow("join_users")

names = op.input("names", flow, TestingSource([
    {"user_id": "123", "name": "Bee"},
    {"user_id": "456", "name": "Hive"},
    {"user_id": "789", "name": "Wasp"},
]))
names = op.key_on("key_names", names, lambda u: u["user_id"])
names = op.map_value("only_name", names, lambda u: u["name"])

emails = op.input("emails", flow, TestingSource([
    {"user_id": "456", "email": "hive@example.org"},
    {"user_id": "123", "email": "bee@example.org"},
]))
emails = op.key_on("key_emails", emails, lambda u: u["user_id"])
emails = op.map_value("only_email", emails, lambda u: u["email"])

joined = op.join("join", names, emails, insert_mode="last", emit_mode="complete")
op.output("out", joined, StdOutSink())
