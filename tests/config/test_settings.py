"""toilbot.yaml and the inventory: validated once, errors name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config.settings import load_settings
from bot.pipeline.inventory import load_inventory
from bot.platform.errors import ConfigError
from tests.conftest import write_config


def settings_with(tmp_path: Path, **overrides: object):
    path = write_config(tmp_path, **overrides)
    return load_settings({"TOILBOT_CONFIG": str(path)}), path


def test_the_example_config_loads():
    """The toilbot.yaml shipped at the top of the repo is valid."""
    repo = Path(__file__).resolve().parents[2]
    settings = load_settings({"TOILBOT_CONFIG": str(repo / "toilbot.yaml")})
    assert settings.policy.decide(settings.local_user, "patch").allowed


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"inventory": "nowhere.yml"}, "inventory", "does not exist"),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not an IANA timezone"),
        ({"local_user": "bob"}, "local_user", "is not allowed here"),
        ({"jobs": {"lease_seconds": 1}}, "jobs.lease_seconds", "below the minimum 2"),
        ({"jobs": {"forks": "many"}}, "jobs.forks", "must be a whole number"),
        ({"jobs": {"retries": 3}}, "jobs.retries", "is not a known key"),
        (
            {"policy": {"roles": {"admin": {"permissions": "*"}}}},
            "policy.roles.admin.permissions",
            "must be a list",
        ),
        (
            {"policy": {"roles": {"admin": {"permissions": ["*"], "members": ["alice"]}}}},
            "policy.roles.admin.members[0]",
            "is not allowed here",
        ),
        ({"policy": {}}, "policy.roles", "is required"),
        ({"commands_dir": "nope"}, "commands_dir", "is not a directory"),
        ({"colour": "blue"}, "colour", "is not a known key"),
        ({"toil": {"summary": {"channel": "ops room"}}}, "toil.summary.channel", "not allowed"),
        ({"toil": {"summary": {"names": "yes"}}}, "toil.summary.names", "must be true or false"),
        ({"toil": {"summary": {"when": "monday"}}}, "toil.summary.when", "is not a known key"),
    ],
)
def test_malformed_config(tmp_path, overrides, key, fragment):
    """Each mistake in toilbot.yaml is one message with the file, the key and the fix."""
    path = write_config(tmp_path, **overrides)
    with pytest.raises(ConfigError) as caught:
        load_settings({"TOILBOT_CONFIG": str(path)})
    assert key == caught.value.key
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)
    assert "Fix: " in str(caught.value)


def test_missing_config_file(tmp_path):
    """A missing file says so and how to fix it."""
    with pytest.raises(ConfigError, match="file not found"):
        load_settings({"TOILBOT_CONFIG": str(tmp_path / "absent.yaml")})


def test_bad_redis_url(tmp_path):
    """REDIS_URL must be a Redis URL."""
    path = write_config(tmp_path)
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_settings({"TOILBOT_CONFIG": str(path), "REDIS_URL": "localhost:6379"})


def test_data_dir_defaults(tmp_path):
    """The embedded Redis lives under TOILBOT_DATA_DIR, else $XDG_STATE_HOME/toilbot."""
    path = write_config(tmp_path)
    env = {"TOILBOT_CONFIG": str(path), "XDG_STATE_HOME": "/var/state"}
    assert Path("/var/state/toilbot") == load_settings(env).data_dir
    env["TOILBOT_DATA_DIR"] = str(tmp_path / "d")
    assert tmp_path / "d" == load_settings(env).data_dir


def inventory_file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_inventory_groups_include_children(tmp_path):
    """A group resolves to its own hosts and its children's, sorted; 'all' is not a target."""
    path = inventory_file(
        tmp_path,
        {
            "all": {
                "children": {
                    "prod": {
                        "children": {
                            "web": {"hosts": {"web-02": None, "web-01": None}},
                            "db": {"hosts": {"db-01": {"ansible_host": "10.0.0.5"}}},
                        }
                    },
                }
            }
        },
    )
    inventory = load_inventory(path)
    assert ("db-01", "web-01", "web-02") == inventory.resolve("prod")
    assert ("web-01", "web-02") == inventory.resolve("web")
    assert ("db-01",) == inventory.resolve("db-01")
    assert inventory.resolve("all") is None
    assert inventory.resolve("nope") is None


@pytest.mark.parametrize(
    ("data", "kind", "name", "fragment"),
    [
        ({"all": {"hosts": {"web*": None, "ok-1": None}}}, "host", "web*", "letters, digits"),
        ({"all": {"hosts": {"a,b": None, "ok-1": None}}}, "host", "a,b", "letters, digits"),
        (
            {"all": {"children": {"web": {"hosts": {"web": None, "ok-1": None}}}}},
            "group",
            "web",
            "also a host name",
        ),
    ],
)
def test_names_that_could_act_as_patterns_are_not_targets(tmp_path, data, kind, name, fragment):
    """A name Ansible accepts but toilbot cannot target is left out, and the inventory says
    which, why, and from which source."""
    path = inventory_file(tmp_path, data)
    inventory = load_inventory(path)
    assert ("ok-1",) == inventory.resolve("ok-1")
    if kind == "host":
        assert inventory.resolve(name) is None
    else:
        assert (name,) == inventory.resolve(name)  # the host, not the group
    [skipped] = inventory.skipped
    assert (kind, name) == (skipped.kind, skipped.name)
    assert f"{kind} {name!r} from {path} is not a target: " in skipped.describe()
    assert fragment in skipped.describe()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"all": {"children": {}}}, "defines no host toilbot can target"),
        ({"all": {"hosts": ["web-01"]}}, 'Invalid "hosts" entry for "all" group'),
    ],
)
def test_malformed_inventory(tmp_path, data, fragment):
    """An inventory without hosts, and one Ansible cannot parse, are refused, naming the file
    and, for the latter, with Ansible's own message."""
    path = inventory_file(tmp_path, data)
    with pytest.raises(ConfigError, match="Fix: ") as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("audit", "fragment"),
    [
        ({"retention": "1y"}, "is not a number of days"),
        ({"retention": "0d"}, "is not a number of days"),
        ({"keep": "365d"}, "is not a known key"),
    ],
)
def test_malformed_audit_retention(tmp_path, audit, fragment):
    """A retention that is not a whole number of days is refused, naming audit.retention."""
    path = write_config(tmp_path, audit=audit)
    with pytest.raises(ConfigError) as caught:
        load_settings({"TOILBOT_CONFIG": str(path)})
    assert fragment in str(caught.value)
    assert caught.value.key.startswith("audit.")


def test_audit_retention_and_key(tmp_path):
    """`audit: {retention: 365d}` is read in seconds; absent, every entry is kept."""
    settings, path = settings_with(tmp_path, audit={"retention": "365d"})
    assert 365 * 86400 == settings.audit_retention
    path.write_text(path.read_text().replace("audit:\n  retention: 365d\n", ""))
    assert None is load_settings({"TOILBOT_CONFIG": str(path)}).audit_retention
    with pytest.raises(ConfigError) as caught:
        load_settings({"TOILBOT_CONFIG": str(path), "TOILBOT_AUDIT_KEY": "short"})
    assert ("TOILBOT_AUDIT_KEY", "openssl rand -hex 32") == (
        caught.value.key,
        caught.value.fix.split("`")[1],
    )
