"""Policy table: user x permission -> allowed or denied, and the rule that decided."""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.pipeline.inventory import load_inventory
from bot.pipeline.parse import Channel, Invocation, parse
from bot.pipeline.policy.load import load_policy
from bot.pipeline.policy.rules import value_text
from bot.pipeline.specs import Confirm, load_specs
from bot.platform.errors import ConfigError, ParseError
from bot.platform.schema import Node
from tests.conftest import write_config

POLICY = load_policy(
    Node(
        "toilbot.yaml",
        "policy",
        {
            "roles": {
                "admin": {"permissions": ["*"], "members": ["U0ADMIN"]},
                "operator": {
                    "permissions": ["status", "patch*", "jobs"],
                    "members": ["U0OPER", "U0BOTH"],
                },
                "viewer": {"permissions": ["status"], "members": ["U0VIEW", "U0BOTH"]},
                "empty": {"permissions": []},
            }
        },
    )
)


@pytest.mark.parametrize(
    ("user", "permission", "allowed", "rule"),
    [
        ("U0ADMIN", "patch", True, "role admin grants *"),
        ("U0ADMIN", "anything.at.all", True, "role admin grants *"),
        ("U0OPER", "patch", True, "role operator grants patch*"),
        ("U0OPER", "patch.prod", True, "role operator grants patch*"),
        ("U0OPER", "restart", False, "no role of U0OPER grants restart"),
        ("U0VIEW", "status", True, "role viewer grants status"),
        ("U0VIEW", "patch", False, "no role of U0VIEW grants patch"),
        ("U0VIEW", "jobs", False, "no role of U0VIEW grants jobs"),
        ("U0BOTH", "jobs", True, "role operator grants jobs"),
        ("U0NOBODY", "status", False, "no role of U0NOBODY grants status"),
        ("U0NOBODY", None, True, "needs no permission"),
    ],
)
def test_decisions(user, permission, allowed, rule):
    """Deny by default; a decision says which rule allowed or denied it."""
    decision = POLICY.decide(user, permission)
    assert (allowed, rule) == (decision.allowed, decision.rule)
    assert allowed == bool(decision)


def test_roles_of():
    """A user's roles are listed in policy order."""
    assert ["operator", "viewer"] == POLICY.roles_of("U0BOTH")
    assert [] == POLICY.roles_of("U0NOBODY")


CAPPED = load_policy(
    Node(
        "toilbot.yaml",
        "policy",
        {
            "roles": {
                "operator": {
                    "permissions": ["restart"],
                    "members": ["U0OPER", "U0LEAD"],
                    "max_hosts": 5,
                },
                "lead": {"permissions": ["restart"], "members": ["U0LEAD"], "max_hosts": 50},
            }
        },
    )
)


@pytest.mark.parametrize(
    ("user", "hosts", "allowed", "rule", "cap"),
    [
        ("U0OPER", 5, True, "role operator grants restart", None),
        ("U0OPER", 6, False, "role operator allows at most 5 hosts per command", 5),
        ("U0LEAD", 6, True, "role lead grants restart", None),
        ("U0LEAD", 51, False, "role operator, lead allows at most 50 hosts per command", 50),
        ("U0NOBODY", 1, False, "no role of U0NOBODY grants restart", None),
    ],
)
def test_blast_radius(user, hosts, allowed, rule, cap):
    """max_hosts caps one command's hosts; the most generous role that grants it decides."""
    decision = CAPPED.decide(user, "restart", hosts)
    assert (allowed, rule, cap) == (decision.allowed, decision.rule, decision.max_hosts)


# --- scoped rules: user x command x targets x channel -> decision and rule ------------


INVENTORY = {
    "all": {
        "children": {
            "staging": {"hosts": {"stg-01": None, "stg-02": None}},
            "prod": {
                "children": {
                    "prod-web": {"hosts": {"web-01": None, "web-02": None}},
                    "prod-db": {"hosts": {"db-01": None}},
                }
            },
        }
    }
}
SCOPED_RAW = {
    "patterns": ["stg-*", "prod:!prod-db"],
    "roles": {
        "admin": {"permissions": ["*"], "members": ["U0ADMIN"]},
        "operator": {
            "members": ["U0OPER", "S0ONCALL"],
            "permissions": ["status", "jobs"],
            "max_hosts": 2,
            "allow": [
                {"permission": "restart", "targets": ["staging"]},
                {
                    "permission": "restart",
                    "targets": ["prod"],
                    "args": {"service": ["nginx"]},
                    "channels": ["#ops"],
                    "confirm": "approve",
                },
                {"command": "patch", "targets": ["prod"], "args": {"check": [True]}},
            ],
        },
        "viewer": {"permissions": ["status", "jobs"], "members": ["U0VIEW", "S0VIEWERS"]},
    },
}
OPS = Channel("C0OPS", "ops")
GENERAL = Channel("C0GEN", "general")


@pytest.fixture(scope="module")
def scoped(tmp_path_factory):
    directory = tmp_path_factory.mktemp("scoped")
    write_config(directory)
    (directory / "scoped.yml").write_text(yaml.safe_dump(INVENTORY))
    inventory = load_inventory(directory / "scoped.yml")
    specs = load_specs(directory / "commands", directory / "playbooks")
    policy = load_policy(Node("toilbot.yaml", "policy", SCOPED_RAW))
    policy.validate(inventory, specs)
    return policy, specs, inventory


def decide_text(scoped, user, text, channel=None, groups=()):
    policy, specs, inventory = scoped
    parsed = parse(text, specs, inventory, policy.patterns)
    return policy.authorize(parsed, user, inventory, groups=frozenset(groups), channel=channel)


@pytest.mark.parametrize(
    ("user", "groups", "text", "channel", "allowed", "rule", "confirm"),
    [
        ("U0OPER", (), "restart cron on staging", None, True, "allow[0]", None),
        ("U0OPER", (), "restart nginx on stg-01", GENERAL, True, "allow[0]", None),
        ("U0OPER", (), "restart cron on web-01", OPS, False, "service is cron, not nginx", None),
        ("U0OPER", (), "restart nginx on web-01", OPS, True, "allow[1]", Confirm.APPROVE),
        ("U0OPER", (), "restart nginx on web-01", GENERAL, False, "this came from #general", None),
        ("U0OPER", (), "restart nginx on web-01", None, False, "console and exec", None),
        ("U0OPER", (), "restart nginx on web-01", Channel("C0OPS"), False, "from C0OPS", None),
        ("U0OPER", (), "restart nginx on prod", OPS, False, "at most 2 hosts", None),
        ("U0OPER", (), "restart nginx on prod-web", OPS, True, "allow[1]", Confirm.APPROVE),
        ("U0OPER", (), "patch db-01 --check", None, True, "allow[2]", None),
        ("U0OPER", (), "patch db-01", None, False, "check is false, not true", None),
        ("U0OPER", (), "patch stg-01 --check", None, False, "stg-01 is not in prod", None),
        ("U0OPER", (), "status prod-web", None, True, "role operator grants status", None),
        ("U0OPER", (), "status prod", None, False, "at most 2 hosts per command", None),
        ("U0OPER", (), "cancel 3", None, False, "no role of U0OPER grants cancel", None),
        ("U0OPER", (), "restart cron on stg-*", None, True, "allow[0]", None),
        ("U0OPER", (), "restart nginx on prod:!prod-db", OPS, True, "allow[1]", Confirm.APPROVE),
        ("U0ALICE", ("S0ONCALL",), "restart cron on stg-02", None, True, "allow[0]", None),
        ("U0ALICE", (), "restart cron on stg-02", None, False, "no role of U0ALICE", None),
        ("U0ALICE", ("S0VIEWERS",), "status staging", None, True, "role viewer grants", None),
        ("U0ALICE", ("S0VIEWERS",), "restart cron on stg-02", None, False, "no role", None),
        ("U0VIEW", (), "restart cron on staging", OPS, False, "no role of U0VIEW grants", None),
        ("U0ADMIN", (), "restart ssh on prod", None, True, "role admin grants *", None),
        ("U0NOBODY", (), "help", None, True, "needs no permission", None),
        ("U0NOBODY", (), "whoami", None, True, "needs no permission", None),
    ],
)
def test_scoped_policy_table(scoped, user, groups, text, channel, allowed, rule, confirm):
    """Rules hold on the resolved hosts, the argument values, the channel and user groups."""
    decision = decide_text(scoped, user, text, channel, groups)
    assert allowed == decision.allowed, decision.rule
    assert rule in decision.rule
    assert confirm == decision.confirm


def test_the_least_demanding_rule_decides():
    """A user allowed by a plain grant and by a rule that needs approval gets the plain grant."""
    policy = load_policy(
        Node(
            "t.yaml",
            "policy",
            {
                "roles": {
                    "careful": {
                        "members": ["U0BOTH"],
                        "allow": [{"permission": "restart", "confirm": "approve"}],
                    },
                    "trusted": {"members": ["U0BOTH"], "permissions": ["restart"]},
                }
            },
        )
    )
    decision = policy.decide("U0BOTH", "restart")
    assert (True, None, "role trusted grants restart") == (
        decision.allowed,
        decision.confirm,
        decision.rule,
    )


@pytest.mark.parametrize(
    ("raw", "key", "problem"),
    [
        ({"roles": {"x": {"allow": [{"targets": ["staging"]}]}}}, "allow[0]", "exactly one"),
        (
            {"roles": {"x": {"allow": [{"permission": "a", "command": "b"}]}}},
            "allow[0]",
            "exactly one",
        ),
        (
            {"roles": {"x": {"allow": [{"permission": "a", "channels": ["ops"]}]}}},
            "channels[0]",
            "not allowed",
        ),
        (
            {"roles": {"x": {"allow": [{"permission": "a", "confirm": "maybe"}]}}},
            "confirm",
            "not allowed",
        ),
        ({"roles": {"x": {"members": ["bob"], "permissions": ["a"]}}}, "members[0]", "not"),
        ({"roles": {"x": {"members": ["U0A"]}}}, "policy.roles.x", "grants nothing"),
        ({"rate_limit": "lots", "roles": {}}, "rate_limit", "not allowed"),
        ({"patterns": ["~web.*"], "roles": {}}, "patterns[0]", "never resolved"),
        ({"patterns": ["@hosts"], "roles": {}}, "patterns[0]", "never resolved"),
        ({"patterns": ["web;id"], "roles": {}}, "patterns[0]", "cannot be resolved"),
    ],
)
def test_policy_errors_name_the_key(raw, key, problem):
    """A mistake in the policy names the key and the problem."""
    with pytest.raises(ConfigError) as excinfo:
        load_policy(Node("toilbot.yaml", "policy", raw))
    assert key in excinfo.value.key
    assert problem in str(excinfo.value)


@pytest.mark.parametrize(
    ("rule", "key", "problem"),
    [
        ({"permission": "restart", "targets": ["prdo"]}, "targets[0]", "'prdo' is not a host"),
        (
            {"permission": "restart", "args": {"servcie": ["nginx"]}},
            "args.servcie",
            "no command this rule covers",
        ),
    ],
)
def test_rules_are_checked_against_inventory_and_specs(scoped, rule, key, problem):
    """A rule naming a target or argument that does not exist is refused at load."""
    _policy, specs, inventory = scoped
    policy = load_policy(
        Node("toilbot.yaml", "policy", {"roles": {"x": {"members": [], "allow": [rule]}}})
    )
    with pytest.raises(ConfigError) as excinfo:
        policy.validate(inventory, specs)
    assert key in excinfo.value.key and problem in str(excinfo.value)


# --- properties: nothing crashes, and whatever is accepted the policy allows ---------

USERS = ["U0ADMIN", "U0OPER", "U0VIEW", "U0ALICE", "U0NOBODY"]
CHANNELS = [None, OPS, GENERAL, Channel("C0OPS")]
WORDS = [
    "restart", "patch", "status", "jobs", "job", "cancel", "help", "whoami", "can", "toil",
    "echo", "nginx", "cron", "ssh", "demo", "on", "for", "fast", "5m", "3", "--check",
    "--serial", "--reboot", "always", "--max-fail", "--count", "--dry-run", "staging", "prod",
    "prod-web", "prod-db", "stg-01", "stg-*", "prod:!prod-db", "web-01", "db-01", "all", "*",
    "web,db", "!prod", "~.*", "@f", "{{ 7*7 }}", "$(id)", ";", "|", "&&", "`id`", "'",
    '"', "\\", "ｓｔａｇｉｎｇ", "stаging", "nginx\u200b", "\u202estaging", "x" * 120, "é",
]  # fmt: skip


def oracle(raw_policy, inventory, user, groups, channel, invocation) -> bool:
    """An independent reading of the policy: some rule of a role of the user holds."""
    for role in raw_policy["roles"].values():
        members = set(role.get("members", []))
        if user not in members and not members & set(groups):
            continue
        rules = [{"permission": p} for p in role.get("permissions", [])] + role.get("allow", [])
        for rule in rules:
            spec = invocation.spec
            if "permission" in rule and not fnmatch.fnmatchcase(
                spec.permission, rule["permission"]
            ):
                continue
            if "command" in rule and not fnmatch.fnmatchcase(spec.name, rule["command"]):
                continue
            cap = rule.get("max_hosts", role.get("max_hosts"))
            if cap is not None and len(invocation.hosts) > cap:
                continue
            if "channels" in rule and (
                channel is None
                or not any(c == f"#{channel.name}" or c == channel.id for c in rule["channels"])
            ):
                continue
            if "targets" in rule:
                allowed = {h for t in rule["targets"] for h in inventory.resolve(t) or ()}
                if not set(invocation.hosts) <= allowed:
                    continue
            if any(
                name not in invocation.values
                or value_text(invocation.values[name]) not in {value_text(v) for v in values}
                for name, values in rule.get("args", {}).items()
            ):
                continue
            return True
    return False


HOSTILE = st.sampled_from(WORDS) | st.text(max_size=30)
TARGETS = st.sampled_from(
    [
        *("staging", "prod", "prod-web", "prod-db", "stg-01", "stg-02", "web-01", "db-01"),
        *("stg-*", "prod:!prod-db"),
    ]
)
FLAGS = {
    "restart": ["--check", "--serial 2", "--max-fail 5"],
    "patch": ["--check", "--serial 2", "--reboot always", "--security-only", "--cached"],
    "status": [],
    "echo": ["--count 3", "--dry-run"],
}


@st.composite
def commands(draw, hostile=True):
    """Commands shaped like the specs' grammars, some words swapped for hostile ones."""

    def maybe_hostile(valid):
        return st.one_of(*[valid] * 7, HOSTILE.map(shlex.quote)) if hostile else valid

    name, template = draw(
        st.sampled_from(
            [
                ("restart", "restart {service} on {target}"),
                ("patch", "patch {target}"),
                ("status", "status {target}"),
                ("echo", "echo {mode} for {period} on {target}"),
            ]
        )
    )
    text = template.format(
        service=draw(maybe_hostile(st.sampled_from(["nginx", "cron", "ssh", "demo"]))),
        target=draw(maybe_hostile(TARGETS)),
        mode=draw(maybe_hostile(st.sampled_from(["fast", "slow"]))),
        period=draw(maybe_hostile(st.sampled_from(["5m", "1h", "90s"]))),
    )
    flags = (
        draw(st.lists(maybe_hostile(st.sampled_from(FLAGS[name])), max_size=2, unique=True))
        if FLAGS[name]
        else []
    )
    return " ".join([text, *flags])


@settings(
    max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        commands(),
        commands(),
        commands(),
        st.lists(st.sampled_from(WORDS), max_size=7).map(" ".join),
    ),
    user=st.sampled_from(USERS),
    groups=st.sets(st.sampled_from(["S0ONCALL", "S0VIEWERS", "S0OTHER"])),
    channel=st.sampled_from(CHANNELS),
)
def test_accepted_commands_are_allowed(scoped, text, user, groups, channel):
    """No input crashes the parser or the policy; the policy allows exactly what an
    independent reading of it allows."""
    policy, specs, inventory = scoped
    try:
        parsed = parse(text, specs, inventory, policy.patterns)
    except ParseError as exc:
        assert str(exc)
        event("refused by the parser")
        return
    decision = policy.authorize(parsed, user, inventory, groups=frozenset(groups), channel=channel)
    if isinstance(parsed, Invocation):
        assert parsed.hosts and set(parsed.hosts) <= inventory.hosts
        assert all(str(v).isascii() for v in parsed.values.values())
        assert oracle(SCOPED_RAW, inventory, user, groups, channel, parsed) == decision.allowed
        event(f"parsed, allowed={decision.allowed}")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=600), user=st.sampled_from(USERS))
def test_arbitrary_text_never_crashes(scoped, text, user):
    """Any text is parsed or refused with a ParseError; the policy answers for what parses."""
    policy, specs, inventory = scoped
    try:
        parsed = parse(text, specs, inventory, policy.patterns)
    except ParseError as exc:
        assert str(exc)
        return
    assert isinstance(policy.authorize(parsed, user, inventory).allowed, bool)


def test_example_policy_is_valid():
    """The example toilbot.yaml loads and validates against the example inventory."""
    root = Path(__file__).resolve().parents[2]
    raw = yaml.safe_load((root / "toilbot.yaml").read_text())
    policy = load_policy(Node("toilbot.yaml", "policy", raw["policy"]))
    policy.validate(
        load_inventory(root / "inventory" / "hosts.yml"),
        load_specs(root / "commands", root / "playbooks"),
    )
    assert ["admin"] == policy.roles_of("U0LOCAL")
