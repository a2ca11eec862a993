#!/usr/bin/env python3
# wordcount.py: counts the words of a text file and prints each word with its
# count, most frequent first.
#
#   python3 -m flow.run wordcount.py
#   python3 -m flow.run "wordcount.py:get_flow('other.txt')"
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re
from pathlib import Path

import flow.operators as op
from flow.connectors.files import FileSource
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
SAMPLE = Path(__file__).with_name("wordcount.txt")


def lower(line):
    return line.lower()


def tokenize(line):
    return WORD.findall(line)


def get_flow(path=SAMPLE):
    flow = Dataflow("wordcount")
    lines = op.input("inp", flow, FileSource(path))
    words = op.flat_map("tokenize", op.map("lower", lines, lower), tokenize)
    counts = op.count_final("count", words, lambda word: word)
    # All counts under one key, to sort them at the end of the input.
    everything = op.key_on("all", counts, lambda _: "ALL")
    table = op.fold_final("table", everything, list, lambda acc, wc: acc + [wc])
    ranked = op.flat_map("rank", op.key_rm("unkey", table),
                         lambda wcs: sorted(wcs, key=lambda wc: (-wc[1], wc[0])))
    op.output("out", ranked, StdOutSink())
    return flow


flow = get_flow()
