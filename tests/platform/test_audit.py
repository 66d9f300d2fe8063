"""The audit log on a real Redis: one chain under concurrent writers, tampering found and named,
retention that leaves a verifiable chain, export by time, and the `toilbot audit` command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import redis

from bot.platform.audit import GENESIS, Audit, AuditAction, Problem, canonical
from bot.platform.store import Keys
from tests.conftest import REPO, toilbot_cli

KEY = b"a-test-key-of-32-bytes-0123456789"


def fill(audit: Audit, count: int, user: str = "U0ADMIN") -> list[str]:
    return [
        audit.record(AuditAction.COMMAND_ANSWERED, user=user, source="test", command=f"jobs {i}")
        for i in range(count)
    ]


def stream(r: redis.Redis) -> list[tuple[str, dict[str, str]]]:
    """The audit stream as (id, fields) pairs, oldest first."""
    return [
        (entry_id.decode(), {k.decode(): v.decode() for k, v in fields.items()})
        for entry_id, fields in r.xrange(Keys.audit)
    ]


def rewrite(r: redis.Redis, items: list[tuple[str, dict[str, str]]]) -> None:
    """Replace the stream with ``items`` under the same ids: how someone with Redis access edits."""
    pipe = r.pipeline()
    pipe.delete(Keys.audit)
    for entry_id, fields in items:
        pipe.xadd(Keys.audit, fields, id=entry_id)
    pipe.execute()


def edit(fields: dict[str, str], **changes: object) -> dict[str, str]:
    data = json.loads(fields["data"])
    data.update(changes)
    return {"data": canonical(data), "hash": fields["hash"]}


def test_entries_carry_the_fields_and_link_into_one_chain(r):
    """Each entry holds seq, time, who/where/what and prev = the hash of the entry before."""
    audit = Audit(r)
    audit.record(
        AuditAction.COMMAND_DENIED,
        user="U0NOBODY",
        source="slack",
        channel="C0OPS",
        command="patch web",
        decision="denied",
        rule="no role of U0NOBODY grants patch",
    )
    fill(audit, 2)
    items = stream(r)
    first = json.loads(items[0][1]["data"])
    assert {
        "seq": 1,
        "action": "command.denied",
        "user": "U0NOBODY",
        "source": "slack",
        "channel": "C0OPS",
        "command": "patch web",
        "decision": "denied",
        "rule": "no role of U0NOBODY grants patch",
        "job": None,
        "outcome": None,
        "detail": {},
        "prev": GENESIS,
    } == {k: v for k, v in first.items() if k != "time"}
    assert first["time"].endswith("Z")
    assert [1, 2, 3] == [json.loads(f["data"])["seq"] for _, f in items]
    assert [GENESIS, items[0][1]["hash"], items[1][1]["hash"]] == [
        json.loads(f["data"])["prev"] for _, f in items
    ]
    assert f"3 {items[2][1]['hash']}" == r.get(Keys.audit_head).decode()


def test_many_appends_verify_intact(r):
    """A few hundred appends make one unbroken chain that verifies."""
    audit = Audit(r)
    fill(audit, 300)
    result = audit.verify()
    assert (True, 300, 1, 300) == (result.ok, result.count, result.first_seq, result.last_seq)


def test_concurrent_threads_keep_one_chain(r, redis_url):
    """Eight threads appending at once, each on its own connection, leave one gapless chain."""
    writers = [Audit(redis.Redis.from_url(redis_url)) for _ in range(8)]
    started = time.perf_counter()
    threads = [
        threading.Thread(target=fill, args=(writer, 50, f"U0T{i}"))
        for i, writer in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    retries = sum(w.retries for w in writers)
    print(f"400 appends from 8 threads in {elapsed:.2f}s, {retries} lost races retried")
    result = Audit(r).verify()
    assert (True, 400) == (result.ok, result.count)
    seqs = [json.loads(f["data"])["seq"] for _, f in stream(r)]
    assert list(range(1, 401)) == seqs


def test_concurrent_processes_keep_one_chain(r, redis_url):
    """Four processes appending at once leave one gapless chain."""
    script = (
        "import sys, redis\n"
        "from bot.platform.audit import Audit\n"
        "a = Audit(redis.Redis.from_url(sys.argv[1]))\n"
        "for i in range(100):\n"
        "    a.record('command.answered', user='U0P' + sys.argv[2], source='proc')\n"
        "print(a.retries)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, redis_url, str(n)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    retries = [int(p.communicate(timeout=120)[0]) for p in procs]
    print(f"400 appends from 4 processes, {sum(retries)} lost races retried")
    assert [0, 0, 0, 0] == [p.returncode for p in procs]
    result = Audit(r).verify()
    assert (True, 400, 400) == (result.ok, result.count, result.last_seq)


def test_an_edited_field_is_named(r):
    """Changing one field of one entry makes verify fail at that entry, as edited."""
    audit = Audit(r)
    fill(audit, 10)
    items = stream(r)
    items[4] = (items[4][0], edit(items[4][1], user="U0SOMEONE"))
    rewrite(r, items)
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.EDITED, items[4][0], 5) == (broken.problem, broken.entry_id, broken.seq)
    assert f"entry seq 5 (id {items[4][0]}) does not match its hash" in broken.text


def test_an_edit_with_its_hash_recomputed_is_found_by_the_next_entry(r):
    """Recomputing the edited entry's hash still breaks the link from the entry after it."""
    audit = Audit(r)
    fill(audit, 10)
    items = stream(r)
    changed = edit(items[4][1], command="nothing to see")
    data = changed["data"]
    items[4] = (items[4][0], {"data": data, "hash": audit.digest(json.loads(data)["prev"], data)})
    rewrite(r, items)
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.EDITED, items[4][0], 5) == (broken.problem, broken.entry_id, broken.seq)
    assert f"entry seq 6 (id {items[5][0]}) recorded a different hash" in broken.text


def test_a_deleted_entry_is_named(r):
    """Deleting one entry makes verify report the missing seq and the entry after the gap."""
    audit = Audit(r)
    fill(audit, 10)
    items = stream(r)
    r.xdel(Keys.audit, items[6][0])
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.DELETED, items[7][0], 8) == (broken.problem, broken.entry_id, broken.seq)
    assert f"seq 7 deleted: missing before entry seq 8 (id {items[7][0]})" == broken.text


def test_deleting_the_oldest_or_the_newest_entries_is_found(r):
    """A gap at either end is found: against the start of the chain, and against the head."""
    audit = Audit(r)
    fill(audit, 10)
    items = stream(r)
    r.xdel(Keys.audit, items[0][0])
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.DELETED, 2) == (broken.problem, broken.seq)
    assert "seq 1 deleted" in broken.text
    rewrite(r, items[:8])
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.DELETED, 9) == (broken.problem, broken.seq)
    assert "seq 9 to 10 deleted" in broken.text and "the head key records seq 10" in broken.text


def test_two_swapped_entries_are_named_as_reordered(r):
    """Rewriting the stream with two entries swapped is reported as a reordering of those two."""
    audit = Audit(r)
    fill(audit, 10)
    items = stream(r)
    (id3, f3), (id4, f4) = items[3], items[4]
    items[3], items[4] = (id3, f4), (id4, f3)
    rewrite(r, items)
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.REORDERED, id3, 5) == (broken.problem, broken.entry_id, broken.seq)
    assert f"entry seq 5 (id {id3}) was moved: it comes before entry seq 4 (id {id4})" == (
        broken.text
    )


def recompute_from(audit_without_key: Audit, r: redis.Redis, start: int) -> None:
    """An attacker without the key rewrites entry ``start`` and re-chains everything after it."""
    items = stream(r)
    prev = json.loads(items[start][1]["data"])["prev"]
    for n in range(start, len(items)):
        data = json.loads(items[n][1]["data"])
        data["prev"] = prev
        if n == start:
            data["user"] = "U0FRAMED"
        raw = canonical(data)
        prev = audit_without_key.digest(data["prev"], raw)
        items[n] = (items[n][0], {"data": raw, "hash": prev})
    rewrite(r, items)
    r.set(Keys.audit_head, f"{len(items)} {prev}")


def test_a_plain_chain_cannot_see_a_full_recompute_but_a_keyed_chain_can(r):
    """Re-chaining from the edit to the head passes a plain chain; with the HMAC key it fails."""
    plain = Audit(r)
    fill(plain, 6)
    recompute_from(plain, r, 2)
    assert plain.verify().ok  # the documented limit of a chain without TOILBOT_AUDIT_KEY
    r.flushdb()
    keyed = Audit(r, KEY)
    fill(keyed, 6)
    assert keyed.verify().ok
    recompute_from(Audit(r), r, 2)
    broken = keyed.verify().broken
    assert broken is not None
    assert (Problem.EDITED, 3) == (broken.problem, broken.seq)
    assert "or written with another TOILBOT_AUDIT_KEY" in broken.text


def test_an_entry_added_around_toilbot_is_found(r):
    """An entry appended straight to the stream, past the head, is reported as inserted."""
    audit = Audit(r)
    fill(audit, 3)
    last = stream(r)[-1][1]
    data = canonical({**json.loads(last["data"]), "seq": 4, "prev": last["hash"]})
    r.xadd(Keys.audit, {"data": data, "hash": audit.digest(last["hash"], data)})
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.INSERTED, 4) == (broken.problem, broken.seq)


def test_retention_trims_with_a_record_and_an_anchor(r):
    """Trimming writes audit.trimmed, removes only old entries, and what is left verifies."""
    audit = Audit(r)
    fill(audit, 5)
    time.sleep(0.01)
    later = time.time()
    removed = audit.trim(86400, user="U0ADMIN", source="test", now=later + 86400)
    fill(audit, 2)
    assert 5 == removed
    result = audit.verify()
    assert (True, 3, 6, 8, 5) == (
        result.ok,
        result.count,
        result.first_seq,
        result.last_seq,
        result.trimmed_through,
    )
    trimmed = json.loads(stream(r)[0][1]["data"])
    assert "audit.trimmed" == trimmed["action"]
    assert (5, 5) == (trimmed["detail"]["through_seq"], trimmed["detail"]["removed"])
    assert 0 == audit.trim(86400, user="U0ADMIN", source="test")  # nothing that old now


def test_deleting_more_than_retention_did_is_found(r):
    """Moving the anchor past the recorded trim, to hide deleted entries, is reported."""
    audit = Audit(r)
    fill(audit, 5)
    time.sleep(0.01)
    audit.trim(86400, user="U0ADMIN", source="test", now=time.time() + 86400)
    fill(audit, 3)
    items = stream(r)  # trimmed (6), 7, 8, 9
    anchor = json.loads(items[0][1]["data"])
    r.set(Keys.audit_anchor, json.dumps({"seq": 6, "hash": items[0][1]["hash"], "id": "x"}))
    r.xdel(Keys.audit, items[0][0])
    broken = audit.verify().broken
    assert broken is not None
    assert (Problem.DELETED, 6) == (broken.problem, broken.seq)
    assert "no audit.trimmed entry records a trim" in broken.text
    assert "audit.trimmed" == anchor["action"]


def test_export_filters_by_time(r):
    """entries(since, until) returns the entries whose own time lies in [since, until)."""
    audit = Audit(r)
    fill(audit, 3, "U0EARLY")
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    fill(audit, 2, "U0LATE")
    time.sleep(0.05)
    end = time.time()
    assert ["U0LATE", "U0LATE"] == [e.data["user"] for e in audit.entries(since=middle)]
    assert ["U0EARLY"] * 3 == [e.data["user"] for e in audit.entries(until=middle)]
    assert [] == list(audit.entries(since=end))
    assert 5 == len(list(audit.entries()))


def test_cli_verify_export_and_a_tampered_entry(env, r):
    """`toilbot audit verify` exits 0 with a count, then 1 naming the edited entry; export works."""
    audit = Audit(r)
    fill(audit, 4, "U0EARLY")
    time.sleep(0.05)
    middle = time.time()
    fill(audit, 2, "U0LATE")
    intact = toilbot_cli(env, "audit", "verify")
    assert 0 == intact.returncode, intact.stdout + intact.stderr
    assert "Audit log intact: 6 entries, seq 1 to 6." in intact.stdout
    assert "plain SHA-256" in intact.stdout
    since = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle))
        + f".{int(middle * 1000) % 1000:03d}Z"
    )
    exported = toilbot_cli(env, "audit", "export", "--since", since, "--json")
    assert 0 == exported.returncode, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(5, "U0LATE"), (6, "U0LATE")] == [(row["seq"], row["user"]) for row in rows]
    assert {"id", "hash", "prev", "time", "action", "source"} <= set(rows[0])
    lines = toilbot_cli(env, "audit", "export", "--since", "1d").stdout.splitlines()
    assert 6 == len(lines)
    assert "#1  command.answered  U0EARLY via test  `jobs 0`" in lines[0]
    items = stream(r)
    items[2] = (items[2][0], edit(items[2][1], outcome="fine"))
    rewrite(r, items)
    broken = toilbot_cli(env, "audit", "verify")
    assert 1 == broken.returncode
    assert f"Audit log BROKEN (edited): entry seq 3 (id {items[2][0]})" in broken.stdout
    assert "2 entries before it intact" in broken.stdout


def test_cli_bad_time_and_trim_without_retention(env, r):
    """A --since that is not a time is refused with the forms to use; trim needs a retention."""
    bad = toilbot_cli(env, "audit", "export", "--since", "last tuesday")
    assert 2 == bad.returncode
    assert "`last tuesday` is not a time" in bad.stderr
    assert "Traceback" not in bad.stderr
    trim = toilbot_cli(env, "audit", "trim")
    assert 0 == trim.returncode
    assert "No audit retention is configured" in trim.stdout


def test_cli_trim_applies_the_configured_retention(env, r, config_path):
    """With `audit: {retention: 30d}`, trim removes only entries older than 30 days."""
    import yaml

    config = yaml.safe_load(config_path.read_text())
    config["audit"] = {"retention": "30d"}
    config_path.write_text(yaml.safe_dump(config))
    fill(Audit(r), 3)
    proc = toilbot_cli(env, "audit", "trim")
    assert 0 == proc.returncode, proc.stderr
    assert "Nothing older than 30 days" in proc.stdout
    assert 3 == r.xlen(Keys.audit)


@pytest.mark.parametrize("key", [None, KEY])
def test_a_keyed_or_plain_chain_verifies_with_its_own_key_only(r, key):
    """A chain verifies under the key it was written with; under another, entry 1 is named."""
    fill(Audit(r, key), 3)
    assert Audit(r, key).verify().ok
    other = Audit(r, None if key else KEY).verify().broken
    assert other is not None
    assert (Problem.EDITED, 1) == (other.problem, other.seq)
