"""REDIS_URL with an ACL user and password: a real redis-server whose default user is off."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import redis

from bot.platform.errors import StoreError
from bot.platform.store import connect
from tests.conftest import toilbot_cli
from tests.platform.redis_servers import Servers, free_port, plain_probe, wait_until_up

USER = "toilbot"
PASSWORD = "p@ss:w/rd 9f3e"  # noqa: S105 - a test server's; characters a URL must encode


def acl_server(servers: Servers) -> int:
    """Only the user `toilbot` may log in; the default user is off."""
    port = free_port()
    servers.start(
        "acl", "--port", str(port), "--user", "default", "off",
        "--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all",
    )  # fmt: skip
    wait_until_up(plain_probe(port, username=USER, password=PASSWORD), "the ACL redis-server")
    return port


def url(port: int, password: str = PASSWORD, db: int = 3) -> str:
    return f"redis://{USER}:{urllib.parse.quote(password, safe='')}@127.0.0.1:{port}/{db}"


def test_acl_user_runs_a_real_job_in_the_database_the_url_names(servers, env):
    """user:password@ logs in as that ACL user; the job's record lands in database 3."""
    port = acl_server(servers)
    proc = toilbot_cli({**env, "REDIS_URL": url(port)}, "exec", "--json", "status localhost")
    assert 0 == proc.returncode, proc.stdout + proc.stderr
    assert "succeeded" == json.loads(proc.stdout)["job"]["status"]
    assert f"Redis: redis://{USER}:***@127.0.0.1:{port}/3 (from REDIS_URL)" in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    db3 = plain_probe(port, username=USER, password=PASSWORD, db=3)
    db0 = plain_probe(port, username=USER, password=PASSWORD, db=0)
    assert (1, 0) == (db3.exists("toilbot:job:1"), db0.exists("toilbot:job:1"))


def test_store_client_is_logged_in_as_the_acl_user(servers, tmp_path: Path):
    """Every client toilbot opens from the URL is the ACL user, not the default user."""
    port = acl_server(servers)
    store = connect(url(port), tmp_path)
    assert USER == store.redis.acl_whoami()
    # A second client of the same Store (as the in-process worker opens) logs in too.
    assert USER == store.another().acl_whoami()


def test_wrong_password_is_one_line_with_the_password_masked(servers, env):
    """A wrong password: exit 3, one line naming the user and the fix, no password shown."""
    port = acl_server(servers)
    wrong = "not-the-password-41c7"
    proc = toilbot_cli({**env, "REDIS_URL": url(port, wrong)}, "exec", "jobs")
    assert 3 == proc.returncode
    [line] = proc.stderr.strip().splitlines()
    assert f"cannot reach Redis at redis://{USER}:***@127.0.0.1:{port}/3" in line
    assert "Check the user name and password in REDIS_URL" in line
    assert wrong not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_credentials_when_the_default_user_is_off(servers, tmp_path: Path):
    """No user in the URL, and the server allows none without one: the fix is named."""
    port = acl_server(servers)
    with pytest.raises(StoreError, match="Check the user name and password in REDIS_URL"):
        connect(f"redis://127.0.0.1:{port}/0", tmp_path)
    with pytest.raises(redis.AuthenticationError):
        plain_probe(port).ping()


def test_check_says_whether_redis_answers(servers, env, config_path: Path):
    """`toilbot check` logs in with REDIS_URL: ok with the right password, a failed check
    naming the fix (and never the password) with a wrong one."""
    for spec in (config_path.parent / "commands").glob("*.yaml"):
        if spec.name != "status.yaml":
            spec.unlink()  # one playbook to syntax-check, not nine: this test is about Redis
    port = acl_server(servers)
    good = toilbot_cli({**env, "REDIS_URL": url(port)}, "check", timeout=120)
    assert f"ok   Redis at redis://{USER}:***@127.0.0.1:{port}/3 (from REDIS_URL) answers" in (
        good.stdout
    ), good.stdout
    bad = toilbot_cli({**env, "REDIS_URL": url(port, "wrong-2b9d")}, "check", timeout=120)
    assert 1 == bad.returncode
    [line] = [x for x in bad.stdout.splitlines() if x.startswith("FAIL redis:")]
    assert "Check the user name and password in REDIS_URL" in line
    assert "wrong-2b9d" not in bad.stdout + bad.stderr
