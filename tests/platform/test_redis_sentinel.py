"""REDIS_URL through Sentinel: a real master, a replica and a Sentinel on loopback, and failovers.

The Sentinel declares a master down after 500 ms without an answer, so a failover takes a
second or two.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from bot.execution.jobs import Jobs
from bot.execution.records import JobStatus
from bot.platform.errors import StoreError
from bot.platform.store import connect
from tests.conftest import start_toilbot, stop_toilbot, submit, wait_for, write_config
from tests.platform.redis_servers import Servers, free_port, plain_probe, wait_until_up

SERVICE = "mymaster"


@dataclass
class Cluster:
    servers: Servers
    master: int
    replica: int
    sentinel: int
    password: str | None = None  # of the master and the replica
    sentinel_password: str | None = None

    @property
    def url(self) -> str:
        login = f":{self.password}@" if self.password else ""
        options = f"?sentinel_password={self.sentinel_password}" if self.sentinel_password else ""
        return f"redis+sentinel://{login}127.0.0.1:{self.sentinel}/{SERVICE}/0{options}"

    def node(self, port: int) -> redis.Redis:
        return plain_probe(port, password=self.password)

    def master_port(self) -> int:
        ask = plain_probe(self.sentinel, password=self.sentinel_password)
        _, port = ask.sentinel_get_master_addr_by_name(SERVICE)
        return int(port)


def start_cluster(
    servers: Servers, password: str | None = None, sentinel_password: str | None = None
) -> Cluster:
    master, replica, sentinel = free_port(), free_port(), free_port()
    cluster = Cluster(servers, master, replica, sentinel, password, sentinel_password)
    auth = ["--requirepass", password, "--masterauth", password] if password else []
    servers.start("master", "--port", str(master), "--repl-diskless-sync-delay", "0", *auth)
    servers.start("replica", "--port", str(replica), "--replicaof", "127.0.0.1", str(master), *auth)
    wait_until_up(cluster.node(master), "the master")
    wait_until_up(cluster.node(replica), "the replica")
    wait_for(
        lambda: cluster.node(replica).info("replication").get("master_link_status") == "up",
        10,
        "the replica to sync",
    )
    config = (
        f"port {sentinel}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {master} 1\n"
        f"sentinel down-after-milliseconds {SERVICE} 500\n"
        f"sentinel failover-timeout {SERVICE} 3000\n"
    )
    if password:
        config += f"sentinel auth-pass {SERVICE} {password}\n"
    if sentinel_password:
        config += f"requirepass {sentinel_password}\n"
    servers.start("sentinel", "--sentinel", config=config)
    ask = plain_probe(sentinel, password=sentinel_password)
    wait_until_up(ask, "the Sentinel")

    def replica_known() -> bool:
        replicas = ask.sentinel_slaves(SERVICE)
        return any(r["port"] == replica and r["is_slave"] and not r["is_sdown"] for r in replicas)

    wait_for(replica_known, 15, "the Sentinel to know the replica")
    return cluster


def failover(sentinel: redis.Redis, seconds: float = 20.0) -> None:
    """SENTINEL FAILOVER, asked again while the Sentinel finds no replica fit to promote:
    it also wants a recent ping and INFO answer from the replica, which a loaded machine
    can delay past the moment the replica is first listed (NOGOODSLAVE)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
            return
        except redis.ResponseError as exc:
            if "NOGOODSLAVE" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_sentinel_url_finds_the_master(servers, tmp_path: Path):
    """redis+sentinel:// asks the Sentinel for the master and writes there."""
    cluster = start_cluster(servers)
    store = connect(cluster.url, tmp_path)
    assert f"{cluster.url} (from REDIS_URL)" == store.description
    store.redis.set("toilbot:test", "via Sentinel")
    assert b"via Sentinel" == cluster.node(cluster.master).get("toilbot:test")


def test_passwords_of_the_nodes_and_of_the_sentinels(servers, tmp_path: Path):
    """Master and replica ask for one password (user:password@), the Sentinels for another
    (?sentinel_password=): both are given, and neither is ever shown."""
    node_secret, sentinel_secret = "node-secret-3a9e", "sentinel-secret-c51d"
    cluster = start_cluster(servers, node_secret, sentinel_secret)
    store = connect(cluster.url, tmp_path)
    store.redis.set("toilbot:test", "with passwords")
    assert b"with passwords" == cluster.node(cluster.master).get("toilbot:test")
    masked = f"redis+sentinel://:***@127.0.0.1:{cluster.sentinel}/{SERVICE}/0?sentinel_password=***"
    assert f"{masked} (from REDIS_URL)" == store.description
    without = cluster.url.split("?")[0]  # no password for the Sentinels
    with pytest.raises(StoreError) as caught:
        connect(without, tmp_path)
    assert "their password (?sentinel_password=)" in str(caught.value)
    assert node_secret not in str(caught.value)


def test_a_master_name_the_sentinel_does_not_know_fails_fast(servers, tmp_path: Path):
    cluster = start_cluster(servers)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        connect(f"redis+sentinel://127.0.0.1:{cluster.sentinel}/nosuchmaster/0", tmp_path)
    assert time.monotonic() - started < 3
    assert "master name is the one they monitor" in str(caught.value)


def test_commands_keep_working_through_a_sentinel_failover(servers, tmp_path: Path):
    """SENTINEL FAILOVER: once the old master is demoted, the same client (whose connection
    still points at it) follows the promoted replica."""
    cluster = start_cluster(servers)
    store = connect(cluster.url, tmp_path)
    store.redis.set("before", "1")
    wait_for(lambda: plain_probe(cluster.replica).get("before") == b"1", 5, "replication")
    failover(plain_probe(cluster.sentinel))
    wait_for(lambda: cluster.master_port() == cluster.replica, 15, "the replica's promotion")
    # Sentinel demotes the old master a moment after the promotion; until then a client
    # still connected to it writes there (Redis's own caveat: asynchronous replication).
    wait_for(
        lambda: plain_probe(cluster.master).info("replication")["role"] == "slave",
        15,
        "the old master's demotion",
    )
    store.redis.set("after", "2")  # READONLY from the old master: the client moves on
    assert b"2" == plain_probe(cluster.replica).get("after")
    assert b"1" == store.redis.get("before")


def test_a_running_job_survives_its_master_being_killed(servers, env, tmp_path: Path):
    """The master is SIGKILLed while a real job runs on a production `toilbot worker`: the
    Sentinel promotes the replica, the job finishes, its record and outcome are in the new
    master, and the same worker runs the next job. (The production default lease, 30 s: the
    tests' 3 s is shorter than a failover.)"""
    cluster = start_cluster(servers)
    config = write_config(tmp_path / "sentinel", jobs={"lease_seconds": 30, "forks": 5})
    markers = config.parent / "markers"
    environ = {**env, "REDIS_URL": cluster.url, "TOILBOT_CONFIG": str(config)}
    worker = start_toilbot(environ, "worker")
    try:
        waiter = submit(environ, "slow localhost --seconds 5")
        wait_for(lambda: (markers / "started").exists(), 60, "the playbook to start")
        servers.procs[0].send_signal(signal.SIGKILL)  # the master
        killed = time.monotonic()
        wait_for(lambda: cluster.master_port() == cluster.replica, 20, "the replica's promotion")
        promoted = time.monotonic() - killed
        out, err = waiter.communicate(timeout=90)
        assert 0 == waiter.returncode, out + err
        assert "succeeded" == json.loads(out)["job"]["status"]
        assert (markers / "finished").exists()
        new_master = plain_probe(cluster.replica)
        record = Jobs(new_master).get(1)
        assert JobStatus.SUCCEEDED == record.status
        assert None is worker.poll(), "the worker exited during the failover"
        second = submit(environ, "status localhost")  # taken by the same worker
        out, err = second.communicate(timeout=90)
        assert 0 == second.returncode, out + err
        assert 2 == json.loads(out)["job"]["id"]
        assert JobStatus.SUCCEEDED == Jobs(new_master).get(2).status
        assert promoted < 15
    finally:
        print(stop_toilbot(worker))
    with pytest.raises(redis.ConnectionError):
        plain_probe(cluster.master).ping()
