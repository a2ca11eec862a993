#!/usr/bin/env python3
# bench_kafka.py: a Python flow reading Kafka, next to a plain Python
# consumer loop (confluent_kafka) reading the same topic
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The topic (--messages small messages over 4 partitions) lives in a mock
# cluster (tests/kafka/kafka-mock-cluster, the real protocol on loopback).
#
#   bare loop    the C bare librdkafka consumer loop of bench-kafka
#                (--bare-only), the baseline, in a child process
#   plain loop   confluent_kafka.Consumer.consume(1000) until every
#                partition reached its end, taking each message's value
#   flow         flow.connectors.kafka.operators.input -> op.map (the
#                value) -> a counting sink (DynamicSink adding len(items))
#
# Each is timed by the wall clock and by the process's CPU time (all
# threads: librdkafka's too). Target: the flow reaches at least 0.25 of the
# plain loop's messages per second. Figures: docs/kafka.md, "Performance".
#
# Usage: bench_kafka.py [--messages N] [--repeat R]

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import confluent_kafka

import flow.operators as op
import flow.connectors.kafka.operators as kop
from flow.dataflow import Dataflow
from flow.outputs import DynamicSink, StatelessSinkPartition
from flow.testing import run_main

TOPIC = "bench"
PARTITIONS = 4


class _CountingPartition(StatelessSinkPartition):
    def __init__(self, sink):
        self._sink = sink

    def write_batch(self, items):
        self._sink.count += len(items)


class CountingSink(DynamicSink):
    def __init__(self):
        self.count = 0

    def build(self, step_id, worker_index, worker_count):
        return _CountingPartition(self)


def produce(brokers, n):
    producer = confluent_kafka.Producer({"bootstrap.servers": brokers, "linger.ms": 50,
                                         "queue.buffering.max.messages": 1000000})
    for i in range(n):
        while True:
            try:
                producer.produce(TOPIC, value=str(i).encode(), key=b"k%d" % (i % 100),
                                 partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush()


def run_plain(brokers, n):
    consumer = confluent_kafka.Consumer({"bootstrap.servers": brokers, "group.id": "bench",
                                         "enable.partition.eof": True,
                                         "enable.auto.commit": False})
    consumer.assign([confluent_kafka.TopicPartition(TOPIC, p, confluent_kafka.OFFSET_BEGINNING)
                     for p in range(PARTITIONS)])
    count = 0
    open_parts = PARTITIONS
    while open_parts > 0:
        for msg in consumer.consume(1000, 1.0):
            err = msg.error()
            if err is not None:
                if err.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    open_parts -= 1
                continue
            msg.value()
            count += 1
    consumer.close()
    assert count == n, (count, n)


def run_flow(brokers, n):
    sink = CountingSink()
    flow = Dataflow("bench")
    kinp = kop.input("inp", flow, brokers=[brokers], topics=[TOPIC], tail=False)
    op.output("out", op.map("value", kinp.oks, lambda m: m.value), sink)
    run_main(flow)
    assert sink.count == n, (sink.count, n)


def run_bare(bench, brokers, n):
    """The C bare loop (bench-kafka --bare-only): (wall, CPU) seconds."""
    out = subprocess.run([bench, "--bare-only", brokers, "--messages", str(n),
                          "--partitions", str(PARTITIONS)],
                         check=True, capture_output=True, text=True).stdout.split()
    assert out[0] == "bare", out
    return float(out[1]), float(out[2])


def timed(fn, *args):
    w0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - w0, time.process_time() - c0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    mock = os.environ.get("FLOW_KAFKA_MOCK_CLUSTER",
                          str(Path(os.environ.get("FLOW_BUILD_ROOT", "build")) / "tests"
                              / "kafka" / "kafka-mock-cluster"))
    bench = os.environ.get("FLOW_BENCH_KAFKA", str(Path(mock).parent.parent / "bench"
                                                   / "bench-kafka"))
    proc = subprocess.Popen([mock, f"{TOPIC}:{PARTITIONS}"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        brokers = proc.stdout.readline().strip()
        t0 = time.perf_counter()
        produce(brokers, args.messages)
        print(f"produced {args.messages} messages to {PARTITIONS} partitions "
              f"in {time.perf_counter() - t0:.2f} s")
        bare = (float("inf"), float("inf"))
        plain = (float("inf"), float("inf"))
        flow = (float("inf"), float("inf"))
        for _ in range(args.repeat):
            b = run_bare(bench, brokers, args.messages)
            p = timed(run_plain, brokers, args.messages)
            f = timed(run_flow, brokers, args.messages)
            bare = (min(bare[0], b[0]), min(bare[1], b[1]))
            plain = (min(plain[0], p[0]), min(plain[1], p[1]))
            flow = (min(flow[0], f[0]), min(flow[1], f[1]))
    finally:
        proc.stdin.close()
        proc.wait()

    n = args.messages
    print(f"messages: {n}, partitions: {PARTITIONS}, best of {args.repeat}")
    print("                                  wall (messages/s)          process CPU (messages/s)")
    print(f"bare librdkafka loop (C):     {bare[0]:8.3f} s {n / bare[0]:10.0f}      "
          f"{bare[1]:8.3f} s {n / bare[1]:10.0f}")
    print(f"plain Python consumer loop:   {plain[0]:8.3f} s {n / plain[0]:10.0f}      "
          f"{plain[1]:8.3f} s {n / plain[1]:10.0f}")
    print(f"Python flow input->map->sink: {flow[0]:8.3f} s {n / flow[0]:10.0f}      "
          f"{flow[1]:8.3f} s {n / flow[1]:10.0f}")
    print(f"ratio flow / bare C loop:     {bare[0] / flow[0]:8.3f} (wall)    "
          f"{bare[1] / flow[1]:8.3f} (CPU)")
    print(f"ratio flow / plain loop:      {plain[0] / flow[0]:8.3f} (wall)    "
          f"{plain[1] / flow[1]:8.3f} (CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
