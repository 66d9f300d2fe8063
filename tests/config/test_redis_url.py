"""REDIS_URL is validated at start-up (issue 14, item 8): every fault is one line naming
REDIS_URL and the fix, exit code 3 (a failed check in `toilbot check`), never a traceback,
never the password. The forms it accepts are read into where and how to connect."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.config.settings import load_settings
from bot.platform.errors import ConfigError
from bot.platform.redis_url import mask, parse_redis_url
from tests.conftest import toilbot_cli, write_config

SECRET = "hunter2-7c1f"  # noqa: S105 - must never be printed

FAULTS = {
    f"redis://toilbot:{SECRET}@redis:abc/0": "has the port 'abc', not a number",
    f"redis://:{SECRET}@redis:6379/abc": "names the database 'abc', not a number",
    "redis://redis:6379/-1": "names the database '-1', not a number",
    "redis://redis:70000/0": "has the port '70000', not a number from 1 to 65535",
    f"http://:{SECRET}@redis:6379/0": "has the unknown scheme 'http'",
    "localhost:6379": "is not a URL",
    "redis://redis:6379/0?ssl_ca_certs=/etc/hostname": "gives ssl_ca_certs without TLS",
    "rediss://redis:6379/0?ssl_ca_certs=/nonexistent/ca.pem": "which is not a file",
    "rediss://redis:6379/0?ssl_cert_reqs=maybe": "gives ssl_cert_reqs='maybe'",
    "redis://redis:6379/0?db=2": "gives ?db=",
    "redis://redis:6379/0?sokcet_timeout=2": "has the unknown option 'sokcet_timeout'",
    f"redis://{SECRET}@redis:6379/0": "has a credential without a colon before @",
    "redis://a:6379,b:6379/0": "lists several hosts",
    "redis+sentinel://s1:26379,s2:26379": "names no Sentinel master",
    "redis+sentinel://s1:x/mymaster": "has the port 'x'",
    "unix://": "names no socket path",
    f"redis://redis:6379/0?sentinel_password={SECRET}": "gives sentinel_password without Sentinel",
    "redis+sentinel://s1/m?ssl_ca_certs=/etc/hostname": "gives ssl_ca_certs without TLS",
}


@pytest.mark.parametrize("url", sorted(FAULTS))
def test_a_bad_redis_url_is_refused_with_the_fix(tmp_path: Path, url: str):
    path = write_config(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_settings({"TOILBOT_CONFIG": str(path), "REDIS_URL": url})
    message = str(caught.value)
    assert message.startswith("environment: REDIS_URL: ")
    assert FAULTS[url] in message
    assert "Fix: " in message
    assert SECRET not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        f"redis://toilbot:{SECRET}@redis:abc/0",
        f"redis://:{SECRET}@redis:6379/abc",
        "redis://redis:6379/0?ssl_ca_certs=/etc/hostname",
        f"http://:{SECRET}@redis:6379/0",
    ],
)
def test_start_up_exits_3_with_one_line_and_check_fails(env, url: str):
    """`exec` and `worker` exit 3 with one line; `toilbot check` reports a failed check."""
    for args, code in ((("exec", "help"), 3), (("worker",), 3), (("check",), 1)):
        proc = toilbot_cli({**env, "REDIS_URL": url}, *args, timeout=60)
        assert code == proc.returncode, (args, proc.stdout, proc.stderr)
        said = (proc.stderr + proc.stdout).strip()
        assert "Traceback" not in said
        assert SECRET not in said
        line = next(x for x in said.splitlines() if "REDIS_URL" in x)
        assert FAULTS[url] in line and "Fix:" in line, line
        if code == 3:
            assert [line] == proc.stderr.strip().splitlines()


def test_the_forms_it_reads(tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("")  # only its existence is checked here; TLS tests load real ones
    tcp = parse_redis_url(f"redis://toilbot:{SECRET}@redis.example.com:6380/2")
    assert ("tcp", (("redis.example.com", 6380),), 2) == (tcp.kind, tcp.hosts, tcp.db)
    assert ("toilbot", SECRET) == (tcp.username, tcp.password)
    assert "redis://toilbot:***@redis.example.com:6380/2" == tcp.masked
    assert SECRET not in repr(tcp)
    default = parse_redis_url("redis://redis")
    assert (("redis", 6379),) == default.hosts and 0 == default.db
    assert (None, "p@ss w") == (
        parse_redis_url("redis://:p%40ss%20w@redis/0").username,
        parse_redis_url("redis://:p%40ss%20w@redis/0").password,
    )
    ipv6 = parse_redis_url("redis://[::1]:6379/0")
    assert (("::1", 6379),) == ipv6.hosts
    sentinel = parse_redis_url(f"redis+sentinel://:{SECRET}@s1,s2:26380/mymaster/3")
    assert ("sentinel", "mymaster", 3) == (sentinel.kind, sentinel.service, sentinel.db)
    assert (("s1", 26379), ("s2", 26380)) == sentinel.hosts
    assert "redis+sentinel://:***@s1,s2:26380/mymaster/3" == sentinel.masked
    assert {} == sentinel.sentinel_login
    assert "tls-sentinel" == parse_redis_url("rediss+sentinel://s1,s2/mymaster/0").kind
    guarded = parse_redis_url("redis+sentinel://s1/m?sentinel_username=ops&sentinel_password=p%40s")
    assert {"username": "ops", "password": "p@s"} == guarded.sentinel_login
    unix = parse_redis_url("unix:///run/redis/redis.sock?db=4")
    assert ("unix", "/run/redis/redis.sock", 4) == (unix.kind, unix.path, unix.db)
    with pytest.raises(ConfigError, match="OpenSSL cannot load"):
        parse_redis_url(f"rediss://redis:6379/0?ssl_ca_certs={ca}")  # empty: not a CA


def test_an_encrypted_client_key_is_refused_not_prompted_for(tmp_path: Path):
    """OpenSSL would ask for the pass phrase on the terminal: start-up refuses it instead."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    openssl("genrsa", "-aes128", "-passout", "pass:x", "-out", "client.key", "2048")
    openssl("req", "-new", "-x509", "-key", "client.key", "-passin", "pass:x", "-subj", "/CN=c",
            "-out", "client.pem", "-days", "1")  # fmt: skip
    url = f"rediss://redis/0?ssl_certfile={tmp_path}/client.pem&ssl_keyfile={tmp_path}/client.key"
    with pytest.raises(ConfigError, match=r"OpenSSL cannot load .*its key \(unencrypted\)"):
        parse_redis_url(url)


def test_mask_hides_every_password_form():
    assert "redis://u:***@h:1/0" == mask("redis://u:p@ss@h:1/0")
    assert "rediss://:***@h/0?ssl_ca_certs=/ca.pem" == mask("rediss://:x@h/0?ssl_ca_certs=/ca.pem")
    assert "redis://***@h/0" == mask("redis://token@h/0")
    assert "redis://h:6379/0" == mask("redis://h:6379/0")
    assert "not a url" == mask("not a url")
    assert "redis+sentinel://:***@s1,s2/m/0?sentinel_password=***&x=1" == mask(
        "redis+sentinel://:a@s1,s2/m/0?sentinel_password=b&x=1"
    )
    assert "redis+sentinel://s1/m?sentinel_password=***" == mask(
        "redis+sentinel://s1/m?sentinel_password=p%40ss"
    )
