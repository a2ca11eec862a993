#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The recovery soak: SIGKILLs and simulated power cuts at seeded random
moments, across the C and the Python file flows.

Both flows (tests/recovery/crash-flow.c and tests/soak/crash_flow.py) read
numbered lines with a FileSource, key line n on n % 100, keep a running
sum per key (stateful_map) and write "('kNN', sum)" lines to a FileSink.
The soak runs rounds; each draws a flow (C or Python), a partition count
(1-6), whether every 7th line discards its key's state, and whether it
simulates power cuts. A round starts a fresh recovery directory, then runs
the flow and kills it (SIGKILL) at drawn moments -- when its output reached
a drawn size plus up to two epochs, or a few milliseconds after the start
-- each run with a drawn batch size, snapshot interval and backup interval,
until the round's kills are done; a last run completes it.

In a power-cut round every run is started with the power-cut shim
(power-cut-shim.so, LD_PRELOAD), which journals what was fsynced; after a
kill, most times, every file of the recovery directory and the output
directory is rolled back to its last synced content, and every name not
synced in its directory is removed (see power-cut-shim.c).

After every kill (and power cut) it checks, from `flow-recovery show`:
  - the directory reads (show exits 0), and the next run resumes;
  - the committed source offset is the byte offset of the committed line
    count in the input;
  - the committed sink length is the length of the expected output of
    exactly those lines, and the output file is at least that long and is
    the start of the expected output;
  - the per-key states are exactly the sums of the committed lines.
At the end of a round the output must be byte-identical to an
uninterrupted run's (made once per flow and checked against the expected
output computed here), and so must the final states.

A run that exits non-zero without being killed, or does not finish within
--timeout seconds, is a failure (its stderr and the round's parameters are
printed, and its directory kept). The last lines print the figures; the
exit status is 1 on any failure.
"""

import argparse
import fcntl
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_KEYS = 100
BATCH_SIZES = [1, 7, 64, 1000]
SNAPSHOTS = ["0", "0.005", "0.005", "0.02", "0.02", "0.05"]
BACKUPS = ["0", "0", "0.03", "0.3", "3600"]


class Failure(Exception):
    pass


class Expected:
    """The input and the expected output, computed independently."""

    def __init__(self, lines, discard):
        self.lines = lines
        self.discard = discard
        inp = []
        out = []
        self.in_offset = [0]
        self.out_offset = [0]
        # states[L]: the per-key states after L lines, kept sparse: the
        # states are recomputed on demand from this running record.
        sums = {}
        self.key_history = []      # (n, key, state or None) per line
        for n in range(1, lines + 1):
            k = "k%02d" % (n % N_KEYS)
            line = f"{n}\n"
            inp.append(line)
            self.in_offset.append(self.in_offset[-1] + len(line))
            if discard and n % discard == 0:
                sums.pop(k, None)
                text = f"('{k}', -1)\n"
                self.key_history.append((k, None))
            else:
                sums[k] = sums.get(k, 0) + n
                text = f"('{k}', {sums[k]})\n"
                self.key_history.append((k, sums[k]))
            out.append(text)
            self.out_offset.append(self.out_offset[-1] + len(text))
        self.input = "".join(inp).encode()
        self.output = "".join(out).encode()
        self.final_states = dict(sums)

    def states_after(self, count):
        states = {}
        for k, v in self.key_history[:count]:
            if v is None:
                states.pop(k, None)
            else:
                states[k] = v
        return states


class Tools:
    def __init__(self, args):
        build = Path(args.build).resolve()
        source = Path(__file__).resolve().parent.parent.parent
        self.build = build
        self.source = source
        self.recovery_tool = str(build / "libflow" / "tools" / "flow-recovery")
        self.c_flow = str(build / "tests" / "recovery" / "crash-flow")
        self.py_flow = str(source / "tests" / "soak" / "crash_flow.py")
        self.shim = str(build / "tests" / "soak" / "power-cut-shim.so")
        self.python = args.python
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            [str(build / "libflow")] + ([env["LD_LIBRARY_PATH"]] if env.get("LD_LIBRARY_PATH") else []))
        env["GI_TYPELIB_PATH"] = os.pathsep.join(
            [str(build / "libflow")] + ([env["GI_TYPELIB_PATH"]] if env.get("GI_TYPELIB_PATH") else []))
        env["PYTHONPATH"] = os.pathsep.join(
            [str(build / "bindings" / "python"), str(source / "bindings" / "python")]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("FLOW_RECOVERY_DIRECTORY", None)
        env.pop("LD_PRELOAD", None)
        self.env = env
        for path in (self.recovery_tool, self.c_flow, self.shim):
            if not os.access(path, os.X_OK if not path.endswith(".so") else os.R_OK):
                sys.exit(f"soak: {path} is missing: build first (ninja -C {build})")


class Shim:
    """The journal of the power-cut shim for the tracked directories."""

    def __init__(self, journal, dirs):
        self.journal = Path(journal)
        self.dirs = [str(Path(d).resolve()) for d in dirs]
        self.journal.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.journal / "lock"
        self.lock_path.touch()

    @staticmethod
    def _hex(path):
        return path.encode().hex()

    def env(self, tools):
        env = dict(tools.env)
        env["LD_PRELOAD"] = tools.shim
        env["SOAK_SHIM_JOURNAL"] = str(self.journal)
        env["SOAK_SHIM_TRACK"] = ":".join(self.dirs)
        return env

    def baseline(self):
        """Everything as it is now is durable."""
        for name in os.listdir(self.journal):
            if name.startswith(("c-", "d-")):
                os.unlink(self.journal / name)
        for d in self.dirs:
            names = sorted(os.listdir(d))
            (self.journal / ("d-" + self._hex(d))).write_text("".join(n + "\n" for n in names))
            for n in names:
                path = os.path.join(d, n)
                if os.path.isfile(path):
                    shutil.copyfile(path, self.journal / ("c-" + self._hex(path)))

    def lock(self):
        """Waits for a journal update in progress; held across the kill."""
        fd = os.open(self.lock_path, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def power_cut(self):
        """Rolls the tracked directories back to what was synced. Returns
        (files rolled back, files removed, bytes lost)."""
        rolled = removed = lost = 0
        for d in self.dirs:
            listing = (self.journal / ("d-" + self._hex(d))).read_text().split("\n")
            synced = {n for n in listing if n}
            for n in os.listdir(d):
                if n not in synced:
                    path = os.path.join(d, n)
                    lost += os.path.getsize(path)
                    os.unlink(path)
                    removed += 1
            for n in synced:
                path = os.path.join(d, n)
                shadow = self.journal / ("c-" + self._hex(path))
                content = shadow.read_bytes() if shadow.exists() else b""
                try:
                    with open(path, "rb") as f:
                        now = f.read()
                except FileNotFoundError:
                    now = None
                if now != content:
                    rolled += 1
                    lost += max(0, len(now or b"") - len(content))
                    with open(path, "wb") as f:
                        f.write(content)
        self.baseline()
        return rolled, removed, lost


class Soak:
    def __init__(self, args, tools):
        self.args = args
        self.tools = tools
        self.rand = random.Random(args.seed)
        self.work = Path(tempfile.mkdtemp(prefix="flow-soak-", dir=args.tmpdir))
        self.stats = dict(kills=0, power_cuts=0, runs=0, resumes=0, rounds=0, checks=0,
                          bytes_checked=0, failures=0, torn=0, epochs_lost=0,
                          files_rolled_back=0, files_removed=0, bytes_lost=0,
                          completed_early=0, c_kills=0, py_kills=0)
        self.expected = {}
        self.references = {}
        self.failures = []

    # --- running ---------------------------------------------------------

    def spawn(self, kind, exp, dirpath, outpath, plan, env, stderr_path):
        env = dict(env)
        env["CRASH_FLOW_BATCH"] = str(plan["batch"])
        env["CRASH_FLOW_DISCARD"] = str(exp.discard)
        opts = ["-r", str(dirpath), "-s", plan["snapshot"], "-b", plan["backup"]]
        inp = str(self.work / f"input-{exp.lines}.txt")
        if kind == "c":
            argv = [self.tools.c_flow, inp, str(outpath)] + opts
        else:
            env["CRASH_FLOW_INPUT"] = inp
            env["CRASH_FLOW_OUTPUT"] = str(outpath)
            argv = [self.tools.python, "-m", "flow.run", self.tools.py_flow] + opts
        err = open(stderr_path, "wb")
        try:
            return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err)
        finally:
            err.close()

    def wait(self, proc, timeout):
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None

    def show(self, dirpath, env):
        r = subprocess.run([self.tools.recovery_tool, "show", str(dirpath)], env=env,
                           capture_output=True, timeout=self.args.timeout)
        if r.returncode != 0:
            raise Failure(f"flow-recovery show {dirpath} failed ({r.returncode}): "
                          f"{r.stdout.decode(errors='replace')}{r.stderr.decode(errors='replace')}")
        return r.stdout.decode()

    @staticmethod
    def parse(text):
        epochs = [int(m) for m in re.findall(r", committed up to epoch (\d+), garbage", text)]
        torn = len(set(epochs)) > 1
        lines = offset = written = 0
        m = re.search(r"^    'input[^']*': \((\d+), (\d+), ", text, re.M)
        if m:
            offset, lines = int(m.group(1)), int(m.group(2))
        m = re.search(r"^    'out\.txt': (\d+)  ", text, re.M)
        if m:
            written = int(m.group(1))
        states = {}
        section = re.search(r"^  crash\.sum \(.*?\n((?:    .*\n|  \(\d+ discarded.*\n)*)", text, re.M)
        if section:
            for k, v in re.findall(r"^    '(k\d\d)': (-?\d+)  ", section.group(1), re.M):
                states[k] = int(v)
        return dict(epoch=min(epochs) if epochs else 0, torn=torn, lines=lines, offset=offset,
                    written=written, states=states)

    # --- checking --------------------------------------------------------

    def check_committed(self, exp, dirpath, outpath, env, what):
        c = self.parse(self.show(dirpath, env))
        self.stats["checks"] += 1
        self.stats["torn"] += c["torn"]
        lines = c["lines"]
        if lines > exp.lines:
            raise Failure(f"{what}: {lines} lines committed, of {exp.lines}")
        if c["offset"] != exp.in_offset[lines]:
            raise Failure(f"{what}: the source committed byte {c['offset']} with {lines} lines, "
                          f"which end at byte {exp.in_offset[lines]}")
        if c["written"] != exp.out_offset[lines]:
            raise Failure(f"{what}: the sink committed {c['written']} bytes with {lines} lines, "
                          f"whose output is {exp.out_offset[lines]} bytes")
        want = exp.states_after(lines)
        if c["states"] != want:
            diff = sorted(k for k in set(want) | set(c["states"]) if want.get(k) != c["states"].get(k))
            raise Failure(f"{what}: after {lines} committed lines the states of {len(diff)} keys "
                          f"are wrong, e.g. {diff[0]}: {c['states'].get(diff[0])} instead of "
                          f"{want.get(diff[0])}")
        data = outpath.read_bytes() if outpath.exists() else b""
        if len(data) < c["written"]:
            raise Failure(f"{what}: the output file has {len(data)} bytes, but {c['written']} "
                          f"were committed")
        if exp.output[:len(data)] != data:
            i = next(i for i in range(len(data)) if i >= len(exp.output) or data[i] != exp.output[i])
            raise Failure(f"{what}: the output file is not the start of the expected output: "
                          f"it differs at byte {i} of {len(data)}")
        self.stats["bytes_checked"] += len(data)
        return c

    # --- rounds ----------------------------------------------------------

    def plan(self, k, n, total, committed):
        # Spread over what is left to write: kill k of n lands in the k-th
        # of n slices of the output from the committed length on.
        where = (committed + (k + self.rand.random()) / n * (total - committed)) / total
        snapshot = self.rand.choice(SNAPSHOTS)
        epoch = max(float(snapshot), 0.002)
        plan = dict(batch=self.rand.choice(BATCH_SIZES), snapshot=snapshot,
                    backup=self.rand.choice(BACKUPS), target=int(where * total),
                    extra=self.rand.uniform(0, 2 * epoch), early=0.0)
        if snapshot == "0":
            # An epoch a batch: batches of one line would make a commit
            # (and an fsync) a line.
            plan["batch"] = max(plan["batch"], 64)
        if self.rand.randrange(6) == 0:
            plan["early"] = self.rand.uniform(0.0005, 0.008)
        return plan

    def reference(self, kind, exp):
        key = (kind, exp.lines, exp.discard)
        if key in self.references:
            return self.references[key]
        d = self.work / f"ref-{kind}-{exp.discard}"
        shutil.rmtree(d, ignore_errors=True)
        (d / "db").mkdir(parents=True)
        self.init_dir(d / "db", 3, self.tools.env)
        plan = dict(batch=64, snapshot="0.02", backup="0")
        proc = self.spawn(kind, exp, d / "db", d / "out.txt", plan, self.tools.env, d / "stderr")
        if self.wait(proc, self.args.timeout) != 0:
            raise SystemExit(f"soak: the uninterrupted {kind} run failed: {(d / 'stderr').read_text()}")
        out = (d / "out.txt").read_bytes()
        if out != exp.output:
            raise SystemExit(f"soak: the uninterrupted {kind} run's output is not the expected one")
        states = self.parse(self.show(d / "db", self.tools.env))["states"]
        if states != exp.final_states:
            raise SystemExit(f"soak: the uninterrupted {kind} run's states are not the expected ones")
        self.references[key] = (out, states)
        shutil.rmtree(d)
        return self.references[key]

    def init_dir(self, dirpath, partitions, env):
        r = subprocess.run([self.tools.recovery_tool, "init", str(dirpath), str(partitions)],
                           env=env, capture_output=True)
        if r.returncode != 0:
            raise SystemExit(f"soak: flow-recovery init failed: {r.stderr.decode()}")

    def run_round(self, number, kills_wanted):
        rand = self.rand
        kind = "c" if rand.random() < self.args.c_share else "py"
        lines = self.args.lines if kind == "c" else self.args.py_lines
        partitions = rand.randint(1, 6)
        discard = 7 if rand.random() < 0.3 else 0
        power = rand.random() < self.args.power_share
        exp = self.expected.setdefault((lines, discard), Expected(lines, discard))
        inp = self.work / f"input-{lines}.txt"
        if not inp.exists():
            inp.write_bytes(exp.input)
        ref_out, ref_states = self.reference(kind, exp)

        rdir = self.work / f"round-{number}"
        dbdir = rdir / "db"
        outdir = rdir / "out"
        dbdir.mkdir(parents=True)
        outdir.mkdir()
        outpath = outdir / "out.txt"
        stderr_path = rdir / "stderr"
        self.init_dir(dbdir, partitions, self.tools.env)
        shim = None
        env = self.tools.env
        if power:
            shim = Shim(rdir / "journal", [dbdir, outdir])
            if self.args.precreate_sink:
                # Only to soak a FileSink older than its directory fsync:
                # created beforehand, the file's name is durable.
                outpath.touch()
            shim.baseline()
            env = shim.env(self.tools)
        desc = (f"round {number} (seed {self.args.seed}): {kind} flow, {exp.lines} lines, "
                f"{partitions} partitions, discard {discard}, power cuts {power}")
        log = []
        kills = 0
        last_lines = 0
        try:
            while True:
                last = kills >= kills_wanted
                plan = (dict(batch=64, snapshot="0.02", backup="0") if last
                        else self.plan(kills, kills_wanted, len(exp.output),
                                       exp.out_offset[last_lines]))
                if not last and kind == "py" and plan["early"]:
                    plan["early"] = rand.uniform(0.05, 0.6)
                cut = power and not last and rand.random() < 0.8
                log.append(f"run {len(log) + 1}: {plan}{' + power cut' if cut else ''}")
                proc = self.spawn(kind, exp, dbdir, outpath, plan, env, stderr_path)
                self.stats["runs"] += 1
                if last_lines > 0 or kills > 0:
                    self.stats["resumes"] += 1
                killed = False
                if not last:
                    killed = self.kill_at(proc, outpath, plan, shim if cut else None)
                if not killed:
                    status = self.wait(proc, self.args.timeout)
                    if status is None:
                        raise Failure(f"run {len(log)} did not finish within {self.args.timeout} s "
                                      f"(hang)")
                    if status != 0:
                        raise Failure(f"run {len(log)} exited with status {status}: "
                                      f"{stderr_path.read_text(errors='replace')[-2000:]}")
                what = f"run {len(log)}"
                if killed:
                    kills += 1
                    self.stats["kills"] += 1
                    self.stats["c_kills" if kind == "c" else "py_kills"] += 1
                    if cut:
                        before = self.show_raw_epoch(dbdir)
                        rolled, removed, lost = shim.power_cut()
                        self.stats["power_cuts"] += 1
                        self.stats["files_rolled_back"] += rolled
                        self.stats["files_removed"] += removed
                        self.stats["bytes_lost"] += lost
                        what += " (power cut)"
                        c = self.check_committed(exp, dbdir, outpath, env, what)
                        if before is not None and c["epoch"] < before["epoch"]:
                            self.stats["epochs_lost"] += before["epoch"] - c["epoch"]
                    else:
                        c = self.check_committed(exp, dbdir, outpath, env, what)
                else:
                    c = self.check_committed(exp, dbdir, outpath, env, what)
                if self.args.verbose:
                    print(f"  {desc}: {what}{' killed' if killed else ''}: {c['lines']} lines "
                          f"committed at epoch {c['epoch']}", flush=True)
                if c["lines"] < last_lines and not (killed and cut):
                    raise Failure(f"{what}: the committed lines went back from {last_lines} "
                                  f"to {c['lines']} without a power cut")
                last_lines = c["lines"]
                if not killed:
                    out = outpath.read_bytes()
                    if out != ref_out:
                        raise Failure(f"{what}: the final output differs from the uninterrupted "
                                      f"run's ({len(out)} bytes instead of {len(ref_out)})")
                    if c["states"] != ref_states:
                        raise Failure(f"{what}: the final states differ from the uninterrupted run's")
                    self.stats["bytes_checked"] += len(out)
                    if not last:
                        self.stats["completed_early"] += 1
                    break
        except Failure as e:
            self.stats["failures"] += 1
            keep = self.work / f"failed-round-{number}"
            rdir.rename(keep)
            message = f"FAILURE in {desc}: {e}\n  kept in {keep}\n  " + "\n  ".join(log)
            self.failures.append(message)
            print(message, flush=True)
            return kills
        self.stats["rounds"] += 1
        shutil.rmtree(rdir)
        return kills

    def show_raw_epoch(self, dbdir):
        """The committed epoch as the killed run left it, before the power
        cut, read from a copy (reading the directory itself would change
        it: SQLite checkpoints its WAL when the last connection closes)."""
        copy = dbdir.parent / "before-cut"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(dbdir, copy)
        try:
            return self.parse(self.show(copy, self.tools.env))
        except Failure:
            return None
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    def kill_at(self, proc, outpath, plan, shim):
        """SIGKILLs @proc as @plan says (with the shim's journal locked for
        a power cut). Returns False if it exited first (status left to
        wait())."""
        start = time.monotonic()
        deadline = start + self.args.timeout
        while True:
            if proc.poll() is not None:
                return False
            now = time.monotonic()
            if now > deadline:
                return False
            if plan["early"]:
                if now - start >= plan["early"]:
                    break
            else:
                try:
                    size = os.path.getsize(outpath)
                except OSError:
                    size = 0
                if size >= plan["target"]:
                    break
            time.sleep(0.0002)
        if not plan["early"]:
            time.sleep(plan["extra"])
        lock = shim.lock() if shim else None
        try:
            if proc.poll() is not None:
                return False
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            if lock is not None:
                os.close(lock)
        return proc.returncode == -signal.SIGKILL

    def run(self):
        start = time.monotonic()
        number = 0
        try:
            while self.stats["kills"] < self.args.kills and \
                    (self.args.rounds == 0 or number < self.args.rounds):
                number += 1
                want = min(self.rand.randint(self.args.min_kills, self.args.max_kills),
                           self.args.kills - self.stats["kills"])
                self.run_round(number, max(want, 1))
                if self.args.verbose or number % 10 == 0:
                    self.report(time.monotonic() - start, final=False)
        finally:
            if not self.args.keep and not self.failures:
                shutil.rmtree(self.work, ignore_errors=True)
        self.report(time.monotonic() - start, final=True)
        return 1 if self.failures else 0

    def report(self, elapsed, final):
        s = self.stats
        line = (f"kills {s['kills']} (C {s['c_kills']}, Python {s['py_kills']}), "
                f"power cuts {s['power_cuts']}, runs {s['runs']}, resumes {s['resumes']}, "
                f"rounds {s['rounds']} ({s['completed_early']} completed before their last kill), "
                f"checks {s['checks']}, bytes checked {s['bytes_checked']}, "
                f"kills between two partitions' commits {s['torn']}, "
                f"power cuts: {s['files_rolled_back']} files rolled back, "
                f"{s['files_removed']} removed, {s['bytes_lost']} bytes lost, "
                f"{s['epochs_lost']} committed epochs undone; "
                f"failures {s['failures']}; {elapsed:.0f} s")
        print(("soak: " if final else "soak (so far): ") + line, flush=True)
        if final:
            for f in self.failures:
                print(f, flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default="build", help="the meson build directory")
    p.add_argument("--python", default="/usr/bin/python3", help="a Python with PyGObject")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--kills", type=int, default=1000, help="SIGKILLs in all")
    p.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (0: no limit)")
    p.add_argument("--min-kills", type=int, default=3, help="kills per round, at least")
    p.add_argument("--max-kills", type=int, default=15, help="kills per round, at most")
    p.add_argument("--lines", type=int, default=100000, help="input lines of the C flow")
    p.add_argument("--py-lines", type=int, default=20000, help="input lines of the Python flow")
    p.add_argument("--c-share", type=float, default=0.6, help="share of rounds of the C flow")
    p.add_argument("--power-share", type=float, default=0.35,
                   help="share of rounds with power cuts")
    p.add_argument("--precreate-sink", action="store_true",
                   help="create the sink's file before a power-cut round (its directory entry "
                        "is then durable even if FileSink did not fsync the directory)")
    p.add_argument("--strict-sink-dir", action="store_true",
                   help="the default now (FileSink fsyncs its directory); kept for old command lines")
    p.add_argument("--timeout", type=float, default=120, help="seconds a run may take")
    p.add_argument("--tmpdir", default=None)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    tools = Tools(args)
    soak = Soak(args, tools)
    print(f"soak: seed {args.seed}, {args.kills} kills, work directory {soak.work}", flush=True)
    return soak.run()


if __name__ == "__main__":
    sys.exit(main())
