"""Parser table tests: text -> invocation, and text -> the error a person reads."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.pipeline.inventory import Inventory, load_inventory
from bot.pipeline.parse import BuiltinCall, Invocation, parse, registered_builtins
from bot.pipeline.specs import CommandSpec, ParamType, load_specs
from bot.platform.errors import ParseError
from tests.conftest import write_config


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, CommandSpec], Inventory]:
    directory = tmp_path_factory.mktemp("world")
    write_config(directory)
    specs = load_specs(directory / "commands", directory / "playbooks")
    return specs, load_inventory(directory / "hosts.yml")


def run(world: tuple[dict[str, CommandSpec], Inventory], text: str) -> Invocation | BuiltinCall:
    specs, inventory = world
    return parse(text, specs, inventory)


@pytest.mark.parametrize(
    ("text", "normalized", "hosts", "values"),
    [
        ("status localhost", "status localhost", ("localhost",), {"targets": "localhost"}),
        ("status web", "status web", ("web-01", "web-02"), {"targets": "web"}),
        ("/ops status db", "status db", ("db-01",), {"targets": "db"}),
        ("STATUS web-01", "status web-01", ("web-01",), {"targets": "web-01"}),
        (
            "patch web-01 --check",
            "patch web-01 --check",
            ("web-01",),
            {
                "targets": "web-01",
                "check": True,
                "max_fail": 0,
                "reboot": "never",
                "security_only": False,
                "cached": False,
            },
        ),
        (
            "patch web --serial 2",
            "patch web --serial 2",
            ("web-01", "web-02"),
            {
                "targets": "web",
                "serial": 2,
                "check": False,
                "max_fail": 0,
                "reboot": "never",
                "security_only": False,
                "cached": False,
            },
        ),
        (
            "patch web --reboot if-required --security-only --max-fail 50",
            "patch web --security-only --max-fail 50 --reboot if-required",
            ("web-01", "web-02"),
            {
                "targets": "web",
                "check": False,
                "max_fail": 50,
                "reboot": "if-required",
                "security_only": True,
                "cached": False,
            },
        ),
        (
            "patch web --serial=1 --check",
            "patch web --check --serial 1",
            ("web-01", "web-02"),
            {
                "targets": "web",
                "serial": 1,
                "check": True,
                "max_fail": 0,
                "reboot": "never",
                "security_only": False,
                "cached": False,
            },
        ),
        (
            "restart nginx on web",
            "restart nginx on web",
            ("web-01", "web-02"),
            {"service": "nginx", "targets": "web", "check": False, "max_fail": 0},
        ),
        (
            "restart cron ON db-01 --check",
            "restart cron on db-01 --check",
            ("db-01",),
            {"service": "cron", "targets": "db-01", "check": True, "max_fail": 0},
        ),
        (
            "echo fast for 45m on local --count 3",
            "echo fast for 45m on local --count 3",
            ("localhost",),
            {"mode": "fast", "period": 2700, "targets": "local", "count": 3, "dry_run": False},
        ),
        (
            "echo fast for 1m30s on local",
            "echo fast for 1m30s on local",
            ("localhost",),
            {"mode": "fast", "period": 90, "targets": "local", "dry_run": False},
        ),
        (
            "echo careful for 60m on web-02 --dry-run",
            "echo careful for 1h on web-02 --dry-run",
            ("web-02",),
            {"mode": "careful", "period": 3600, "targets": "web-02", "dry_run": True},
        ),
        ('status "localhost"', "status localhost", ("localhost",), {"targets": "localhost"}),
    ],
)
def test_accepted(world, text, normalized, hosts, values):
    """Valid text becomes an invocation with typed values and hosts resolved from the inventory."""
    invocation = run(world, text)
    assert isinstance(invocation, Invocation)
    assert (normalized, hosts, values) == (
        invocation.normalized(),
        invocation.hosts,
        invocation.values,
    )


def test_check_mode_follows_the_check_mode_flag(world):
    """Only the flag marked check_mode turns on Ansible's check mode."""
    assert run(world, "patch web --check").check_mode is True
    assert run(world, "patch web").check_mode is False
    assert run(world, "echo fast for 2m on web --dry-run").check_mode is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "help"),
        ("help", "help"),
        ("help patch", "help"),
        ("jobs", "jobs"),
        ("job 12", "job"),
        ("cancel 42", "cancel"),
    ],
)
def test_builtins(world, text, expected):
    """Commands implemented in Python parse to a BuiltinCall."""
    call = run(world, text)
    assert isinstance(call, BuiltinCall)
    assert expected == call.builtin.name


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("pach web-01", ["no command `pach`", "Did you mean `patch`?"]),
        ("statsu localhost", ["Did you mean `status`"]),
        ("frobnicate", ["no command `frobnicate`", "`help`"]),
        ("status", ["Missing <targets>", "Usage: `status <targets>`"]),
        ("status web-1", ["`web-1` is not a host or group", "Did you mean `web-01`", "Usage:"]),
        ("status wbe", ["`wbe` is not a host or group", "`web`"]),
        (
            "restart nginz on web",
            [
                "<service>: `nginz` is not allowed",
                "Did you mean `nginx`?",
                "Usage: `restart <nginx|cron|ssh|demo> on <targets>",
            ],
        ),
        ("restart nginx web", ["Expected `on` where you wrote `web`"]),
        ("restart nginx on", ["Missing <targets>"]),
        ("restart nginx at web", ["Expected `on` where you wrote `at`"]),
        ("status web extra", ["Unexpected `extra`"]),
        ("patch web --chek", ["`--chek` is not an option", "Did you mean `--check`"]),
        ("patch web --serial", ["`--serial` needs a value: `--serial N`"]),
        ("patch web --serial 0", ["<serial>: `0` is not a whole number from 1 to 100"]),
        ("patch web --serial 101", ["from 1 to 100"]),
        ("patch web --serial two", ["`two` is not a whole number"]),
        ("patch web --serial -3", ["`-3` is not a whole number"]),
        ("patch web --check --check", ["`--check` is given twice"]),
        ("patch web --check=yes", ["`--check` is a switch and takes no value"]),
        ("echo fast for 10s on web", ["<period>: `10s` is not a duration from 1m to 1h"]),
        ("echo fast for soon on web", ["`soon` is not a duration"]),
        ("job", ["Missing <id>", "Usage: `job <id>`"]),
        ("jobs now", ["Unexpected `now`"]),
        ('status "web', ["Close every quote"]),
    ],
)
def test_refused_with_a_useful_message(world, text, fragments):
    """Every mistake names the argument, suggests a fix and shows the usage line where it helps."""
    with pytest.raises(ParseError) as caught:
        run(world, text)
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("patch web-01 \u2014check", "patch web-01 --check"),  # iOS: em dash
        ("patch web-01 \u2013check", "patch web-01 --check"),  # en dash
        ("patch web-01 \u2010check", "patch web-01 --check"),  # Unicode hyphen
        ("patch web-01 \u2212check", "patch web-01 --check"),  # minus sign
        ("patch web-01 \u2014-check", "patch web-01 --check"),  # "---" on iOS
        ("patch web-01 -check", "patch web-01 --check"),
        ("patch web-01 -CHECK", "patch web-01 --check"),
        ("patch web-01 \u2014security-only", "patch web-01 --security-only"),
        ("patch web-01 -security-only", "patch web-01 --security-only"),
        ("patch web-01 \u2014serial 3", "patch web-01 --serial 3"),
        ("patch web-01 -serial=3 \u2014check", "patch web-01 --check --serial 3"),
        ("patch web-01 \u2014reboot always", "patch web-01 --reboot always"),
        ("echo fast for 2m on local \u2014dry-run", "echo fast for 2m on local --dry-run"),
    ],
)
def test_phone_dashes_and_single_hyphens_read_as_flags(world, text, normalized):
    """A smart dash or a single hyphen before a known flag name is read as `--`."""
    invocation = run(world, text)
    assert isinstance(invocation, Invocation)
    assert normalized == invocation.normalized()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("patch web \u2014chek", ["`\u2014chek` is not an option", "Did you mean `--check`"]),
        ("patch web \u2013serail 2", ["`\u2013serail` is not an option", "`--serial`"]),
        ("patch web \u2014check=yes", ["`--check` is a switch and takes no value"]),
        ("patch web \u2014serial 0", ["<serial>: `0` is not a whole number from 1 to 100"]),
        ("patch web \u2014serial", ["`--serial` needs a value"]),
        ("patch web -check \u2014check", ["`--check` is given twice"]),
        ("patch web --serial -1", ["<serial>: `-1` is not a whole number"]),
        ("patch web --serial \u22121", ["<argument>: `\u22121` contains MINUS SIGN"]),
        ("patch web --reboot -always", ["<reboot>: `-always` is not allowed"]),
        ("patch web -chek", ["Unexpected `-chek`"]),
        ("status \u2014check", ["`\u2014check` is not an option", "Usage: `status <targets>`"]),
    ],
)
def test_phone_dashes_are_validated_like_any_flag(world, text, fragments):
    """A flag typed with a phone's dash gets exactly the checks and hints of the `--` spelling;
    a negative number stays a (refused) number."""
    with pytest.raises(ParseError) as caught:
        run(world, text)
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("all", "is an Ansible host pattern"),
        ("*", "is an Ansible host pattern"),
        ("web*", "is an Ansible host pattern"),
        ("!web", "is an Ansible host pattern"),
        ("web:&db", "is an Ansible host pattern"),
        ("~web.*", "is an Ansible host pattern"),
        ("@hosts.txt", "is an Ansible host pattern"),
        ("web,db", "is an Ansible host pattern"),
        ("web-01,db-01", "is an Ansible host pattern"),
        ("web[0]", "is an Ansible host pattern"),
        ("{{ lookup('pipe','id') }}", "is not a host or group name"),
        ("localhost;id", "is not a host or group name"),
        ("$(id)", "is not a host or group name"),
        ("../etc", "is not a host or group name"),
        ("web-03", "is not a host or group in the inventory"),
    ],
)
def test_host_patterns_are_never_targets(world, target, error):
    """Only plain inventory names are targets; patterns and odd characters are named as such."""
    with pytest.raises(ParseError, match=error):
        run(world, f'status "{target}"')


@pytest.mark.parametrize(
    "service", ["{{ lookup('pipe','id') }}", "nginx;id", "$(reboot)", "nginx nginx", "*"]
)
def test_services_only_from_the_allowlist(world, service):
    """A service outside the spec's allowlist is refused, template syntax included."""
    with pytest.raises(ParseError):
        run(world, f'restart "{service}" on web')


def test_overlong_and_control_characters_are_refused(world):
    """Text is bounded and must be printable."""
    with pytest.raises(ParseError, match="limit is 500"):
        run(world, "status " + "a" * 600)
    with pytest.raises(ParseError, match="control characters"):
        run(world, "status web\x1b[2J")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_no_input_crashes_the_parser(world, text):
    """Any text either parses or raises ParseError; nothing else escapes."""
    with contextlib.suppress(ParseError):
        run(world, text)


WORDS = [
    "status",
    "patch",
    "restart",
    "echo",
    "on",
    "for",
    "web",
    "web-01",
    "db",
    "local",
    "localhost",
    "nginx",
    "cron",
    "fast",
    "2m",
    "1h",
    "--check",
    "--serial",
    "3",
    "--count",
    "--dry-run",
    "all",
    "*",
    "{{",
    "}}",
    "lookup('pipe','id')",
    ";",
    "help",
    "jobs",
]

# Phone spellings of flags and the `--` spelling each means (an unknown one included).
PHONE_SPELLINGS = {
    "\u2014check": "--check",
    "-check": "--check",
    "\u2013serial": "--serial",
    "-count": "--count",
    "\u2014dry-run": "--dry-run",
    "\u2212serial=2": "--serial=2",
    "\u2014chek": "--chek",
}


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(WORDS + list(PHONE_SPELLINGS)), min_size=1, max_size=8))
def test_everything_accepted_is_within_the_spec(world, words):
    """Whatever is accepted has inventory hosts only and values inside each parameter's bounds."""
    _, inventory = world
    try:
        result = run(world, " ".join(words))
    except ParseError:
        return
    if isinstance(result, BuiltinCall):
        return
    assert set(result.hosts) <= inventory.hosts
    for name, value in result.values.items():
        param = result.spec.params[name]
        if param.type is ParamType.CHOICE:
            assert value in param.choices
        elif param.type in (ParamType.INT, ParamType.DURATION):
            assert param.minimum <= value <= param.maximum
        elif param.type is ParamType.TARGETS:
            assert inventory.resolve(value) == result.hosts
        else:
            assert isinstance(value, bool)


def outcome(world, text: str) -> tuple[str, tuple[str, ...], dict[str, object]] | str:
    """What parsing ``text`` gives: the invocation's meaning, or "refused"."""
    try:
        result = run(world, text)
    except ParseError:
        return "refused"
    assert isinstance(result, Invocation)
    return (result.normalized(), result.hosts, dict(result.values))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS + list(PHONE_SPELLINGS)), min_size=1, max_size=8))
def test_phone_spellings_mean_what_the_double_hyphen_means(world, words):
    """Oracle: a command typed with phone dashes or single hyphens before flag names is
    accepted or refused exactly as the same command typed with `--` (builtins read their own
    words and are left out)."""
    assume(words[0] not in registered_builtins())
    typed = [PHONE_SPELLINGS.get(word, word) for word in words]
    assert outcome(world, " ".join(typed)) == outcome(world, " ".join(words))


def test_help_usage_lines(world):
    """Usage lines are generated from the grammar and the flags."""
    specs, _ = world
    assert (
        "patch <targets> [--check] [--security-only] [--serial N] [--max-fail N] "
        "[--reboot never|if-required|always] [--cached]"
    ) == specs["patch"].usage()
    assert (
        "restart <nginx|cron|ssh|demo> on <targets> [--check] [--serial N] [--max-fail N]"
        == specs["restart"].usage()
    )


def test_fixture_paths_exist():
    """The fixtures this module relies on are part of the repository."""
    assert (Path(__file__).parents[1] / "fixtures" / "commands" / "echo.yaml").is_file()
