"""The Slack app manifests ask for what the app uses, and point every URL at /slack/events.

Two manifests, one per way of connecting: ``slack/manifest.yml`` for ``toilbot serve`` (HTTP,
what docker-compose.yml runs) and ``slack/manifest-socket.yml`` for ``toilbot socket``. The
scopes are checked against the Web API methods the code calls, found by reading ``bot/``.
"""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.frontends.slack.server import EVENTS_PATH
from tests.slack.scopes import SCOPES

REPO = Path(__file__).resolve().parents[3]
HTTP = yaml.safe_load((REPO / "slack/manifest.yml").read_text())
SOCKET = yaml.safe_load((REPO / "slack/manifest-socket.yml").read_text())
MANIFESTS = {"http": HTTP, "socket": SOCKET}

# SCOPES (tests/slack/scopes.py): the scopes each Web API method needs; the local Slack refuses
# a call without them (missing_scope), granting what slack/manifest.yml asks for.
# Bolt's listener arguments that call the Web API themselves.
BOLT_UTILITIES = {"say": "chat.postMessage", "respond": None}  # respond: the response_url
# Calls on a receiver named ``*client`` that are Redis, not Slack.
REDIS_CLIENT_CALLS = {("bot/platform/store.py", "ping"), ("bot/platform/store.py", "client_list")}
OUTBOX = "bot/frontends/slack/outbox.py"
SINKS = {"deliver": 2, "put": 1}  # outbox function -> position of its method argument


@cache
def sdk_methods() -> dict[str, tuple[str, ...]]:
    """WebClient's Python method name -> the Web API methods it calls (files_upload_v2: two)."""
    direct: dict[str, str] = {}
    calls: dict[str, set[str]] = {}
    for name, function in inspect.getmembers(WebClient, inspect.isfunction):
        if name.startswith("_") or name == "api_call":
            continue
        source = inspect.getsource(function)
        found = re.findall(r'api_call\(\s*"([\w.]+)"', source)
        if found:
            direct[name] = found[0]
        calls[name] = set(re.findall(r"self\.(\w+)\(", source))
    result = {name: (method,) for name, method in direct.items()}
    for name, inner in calls.items():
        if name not in direct and inner & set(direct):
            result[name] = tuple(sorted(direct[i] for i in inner & set(direct)))
    return result


def _receiver(node: ast.expr) -> str:
    """The last name of a call's receiver: ``self.client`` -> ``client``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


class Scan(ast.NodeVisitor):
    """Every Web API method one module calls; anything it cannot classify is a failure."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.methods: set[str] = set()
        self.unclassified: list[str] = []
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.clients = {"client"}  # names bound to a WebClient in this module
        self.outbox_names = set(SINKS) if path == OUTBOX else set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _receiver(node.value.func) in ("WebClient", "make_client")
            ):
                self.clients |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            if isinstance(node, ast.ImportFrom) and node.module == "bot.frontends.slack.outbox":
                self.outbox_names |= {a.asname or a.name for a in node.names} & set(SINKS)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        where = f"{self.path}:{node.lineno}"
        if isinstance(func, ast.Name) and func.id in BOLT_UTILITIES:
            method = BOLT_UTILITIES[func.id]
            self.methods |= {method} if method else set()
        elif isinstance(func, ast.Name) and func.id in self.outbox_names:
            self._method_argument(node, SINKS[func.id], where)
        elif isinstance(func, ast.Attribute):
            receiver = _receiver(func.value)
            if receiver == "outbox" and func.attr in SINKS:
                self._method_argument(node, SINKS[func.attr], where)
            elif func.attr == "api_call":
                self._method_argument(node, 0, where)
            elif func.attr in sdk_methods():
                self.methods |= set(sdk_methods()[func.attr])
            elif (receiver.lower().endswith("client") or receiver in self.clients) and (
                self.path,
                func.attr,
            ) not in REDIS_CLIENT_CALLS:
                self.unclassified.append(f"{where}: {receiver}.{func.attr}(...)")

    def _method_argument(self, call: ast.Call, position: int, where: str) -> None:
        argument = call.args[position] if len(call.args) > position else None
        if argument is None:
            keyword = next((k.value for k in call.keywords if k.arg == "method"), None)
            argument = keyword
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            self.methods.add(argument.value)
        elif isinstance(argument, ast.Name) and self._forwarded(argument.id):
            pass  # the outbox passing on its own ``method`` parameter: its callers are scanned
        elif isinstance(argument, ast.Name) and (constants := self._assigned(argument.id)):
            self.methods |= constants
        elif self.path == OUTBOX and isinstance(argument, ast.Subscript):
            pass  # deliver_due re-sends what put() stored: put()'s callers are scanned
        else:
            self.unclassified.append(f"{where}: method {ast.unparse(argument or call)}")

    def _forwarded(self, name: str) -> bool:
        function = self.functions[-1] if self.functions else None
        return (
            self.path == OUTBOX
            and function is not None
            and function.name in SINKS
            and name in {a.arg for a in function.args.args}
        )

    def _assigned(self, name: str) -> set[str]:
        """The string constants ``name`` is assigned in the enclosing function; empty if any
        assignment is something else."""
        if not self.functions:
            return set()
        found: set[str] = set()
        for node in ast.walk(self.functions[-1]):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                pairs: list[tuple[ast.expr, ast.expr]] = [(target, node.value)]
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = list(zip(target.elts, node.value.elts, strict=True))
                for left, right in pairs:
                    if isinstance(left, ast.Name) and left.id == name:
                        if not (isinstance(right, ast.Constant) and isinstance(right.value, str)):
                            return set()
                        found.add(right.value)
        return found


@cache
def called_methods() -> tuple[frozenset[str], tuple[str, ...]]:
    """(every Web API method bot/ calls, every call the scan could not classify)."""
    methods: set[str] = set()
    unclassified: list[str] = []
    for path in sorted((REPO / "bot").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(), relative)
        scan = Scan(relative, tree)
        scan.visit(tree)
        methods |= scan.methods
        unclassified += scan.unclassified
    return frozenset(methods), tuple(unclassified)


def granted(manifest: dict[str, Any]) -> set[str]:
    return set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_scan_classifies_every_slack_call():
    """Every call on a Slack client in bot/ names its Web API method, or the scan says where."""
    assert () == called_methods()[1]


def test_the_scan_finds_the_methods_the_bot_is_known_to_call():
    """The scan sees the calls made directly, through the outbox and through the SDK."""
    assert {
        "chat.postMessage",
        "chat.update",
        "conversations.info",
        "conversations.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "usergroups.users.list",
        "users.info",
        "views.publish",
        "auth.test",
    } <= called_methods()[0]


@pytest.mark.parametrize("kind", MANIFESTS)
def test_every_called_method_has_its_scopes(kind):
    """Each Web API method the code calls has a known scope set, all granted by the manifest."""
    methods = called_methods()[0]
    assert set() == methods - set(SCOPES), "look up these methods' scopes and add them to SCOPES"
    missing = {m: SCOPES[m] - granted(MANIFESTS[kind]) for m in methods}
    assert {} == {m: s for m, s in missing.items() if s}


@pytest.mark.parametrize("kind", MANIFESTS)
def test_no_scope_is_asked_for_without_a_use(kind):
    """Every scope the manifest asks for is needed by a method called, a slash command or an
    event subscribed to."""
    used = set().union(*(SCOPES[m] for m in called_methods()[0]))
    events = {"app_mentions:read", "im:history", "commands"}  # app_mention, message.im, /ops
    assert set() == granted(MANIFESTS[kind]) - used - events


def test_http_manifest_matches_the_compose_deployment():
    """docker-compose.yml runs `toilbot serve` (HTTP): its manifest has Socket Mode off and a
    request URL on every feature; the Socket Mode manifest has it on and no URLs."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert "serve" == compose["services"]["serve"]["command"][0]
    assert (False, True) == (
        HTTP["settings"]["socket_mode_enabled"],
        SOCKET["settings"]["socket_mode_enabled"],
    )
    assert [] == urls(SOCKET)
    assert len(urls(HTTP)) == len(HTTP["features"]["slash_commands"]) + 2


def urls(manifest: dict[str, Any]) -> list[str]:
    """Every URL Slack would call: slash commands, events, interactivity."""
    settings = manifest["settings"]
    found = [c.get("url") for c in manifest["features"]["slash_commands"]]
    found += [settings["event_subscriptions"].get("request_url")]
    found += [settings["interactivity"].get("request_url")]
    return [url for url in found if url]


def test_the_manifests_differ_only_in_how_slack_reaches_the_app():
    """Scopes, events, commands and the app's look are the same in both manifests."""
    assert granted(HTTP) == granted(SOCKET)
    assert (
        HTTP["settings"]["event_subscriptions"]["bot_events"]
        == SOCKET["settings"]["event_subscriptions"]["bot_events"]
    )
    without_url = [
        {k: v for k, v in c.items() if k != "url"} for c in HTTP["features"]["slash_commands"]
    ]
    assert without_url == SOCKET["features"]["slash_commands"]
    assert (HTTP["display_information"], HTTP["features"]["app_home"]) == (
        SOCKET["display_information"],
        SOCKET["features"]["app_home"],
    )


def test_every_url_is_the_bolt_endpoint():
    """Slash commands, events and interactivity all go to Bolt's /slack/events (HTTP mode)."""
    assert all(url.endswith(EVENTS_PATH) for url in urls(HTTP))


@pytest.mark.parametrize("kind", MANIFESTS)
def test_subscriptions_match_the_listeners(kind):
    """The app listens to exactly the events and commands the manifest subscribes to."""
    manifest = MANIFESTS[kind]
    assert {
        "app_home_opened",
        "app_mention",
        "message.im",
        "subteam_members_changed",
        "subteam_updated",
    } == set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert ["/ops", "/toil"] == [c["command"] for c in manifest["features"]["slash_commands"]]
    scopes = granted(manifest)
    assert {"chat:write", "commands", "app_mentions:read", "im:history", "files:write"} <= scopes


def test_the_scan_fails_loudly_on_a_call_it_cannot_read():
    """A method name computed at run time, or an unknown call on a client, is reported."""
    source = (
        "def f(client, name):\n"
        "    client.api_call(name.lower())\n"
        "    client.chat_frobnicate()\n"
        "    method = pick()\n"
        "    client.api_call(method)\n"
        "    outbox.deliver(r, client, 'chat.update', {})\n"
    )
    scan = Scan("bot/example.py", ast.parse(source))
    scan.visit(ast.parse(source))
    assert ({"chat.update"}, 3) == (scan.methods, len(scan.unclassified))
