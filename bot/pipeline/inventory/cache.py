"""The resolved inventory, kept in this process and in Redis, refreshed after a while or on request.

ansible-inventory takes about a second (a cloud source longer), so no request runs
it. Each process keeps the inventory in memory and looks at Redis at most once a
second (one small HMGET); another process's newer copy is loaded from there. When
the copy is older than ``inventory.cache_seconds``, one process (a Redis lock)
reads the sources again in a background thread while requests go on with the copy
they have. `inventory refresh` reads them at once.

A read that fails or times out keeps the last good inventory: the error and when
it happened are kept beside it, logged, and shown by `inventory`. At start-up a
fresh copy in Redis is taken when the source files are unchanged (workers and web
processes start without running Ansible); a failing source with a copy in Redis
starts on that copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.typing import EncodableT, FieldT

from bot.pipeline.inventory.model import Inventory
from bot.pipeline.inventory.source import InventorySettings, load_inventory
from bot.platform.errors import ConfigError
from bot.platform.store import text, text_map

log = logging.getLogger(__name__)

#: HASH per set of sources: inventory (JSON), resolved_at, attempted_at, fingerprint,
#: error, error_at. (Beside ``Keys`` in bot/platform/store.py, which another change owns.)
KEY_PREFIX = "toilbot:inventory:"
KEEP_SECONDS = 30 * 86400  # a copy nobody refreshed for a month goes
LOOK_EVERY = 1.0  # seconds between two looks at Redis in one process
MAX_FILES = 5000  # files stat'ed for the fingerprint of directory sources

Loader = Callable[[Sequence[Path], int], Inventory]


@dataclass(frozen=True)
class InventoryState:
    inventory: Inventory  # the last good one
    resolved_at: float  # when it was read
    error: str | None = None  # why the last refresh failed (the inventory is older), else None
    error_at: float | None = None


def fingerprint(sources: Sequence[Path]) -> str:
    """Size and mtime of every file of the sources (directories walked, at most MAX_FILES)."""
    digest = hashlib.sha256()
    seen = 0
    for source in sources:
        walk = os.walk(source) if source.is_dir() else [(str(source.parent), [], [source.name])]
        for folder, dirs, files in walk:
            dirs.sort()
            for name in sorted(files):
                seen += 1
                if seen > MAX_FILES:
                    return digest.hexdigest()
                try:
                    st = (Path(folder) / name).stat()
                except OSError:
                    continue
                digest.update(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class Inventories:
    """The inventory in force for one process (``current``), shared through Redis."""

    def __init__(
        self,
        settings: InventorySettings,
        r: redis.Redis,
        loader: Loader = load_inventory,
    ) -> None:
        self.settings = settings
        self.r = r
        self.loader = loader
        self.key = KEY_PREFIX + hashlib.sha256(settings.label.encode()).hexdigest()[:16]
        self._state: InventoryState | None = None
        self._looked = 0.0
        self._lock = threading.Lock()
        self._refreshing = threading.Event()

    @property
    def state(self) -> InventoryState:
        self.current()
        if self._state is None:
            raise RuntimeError("Inventories.start() was not called")
        return self._state

    def start(self) -> InventoryState:
        """The inventory at start-up: a fresh copy from Redis whose files are unchanged, else
        read now; a failing read falls back on the copy in Redis, else is a ConfigError."""
        stored = self._stored()
        prints = fingerprint(self.settings.sources)
        if stored is not None:
            state, stamp, attempted = stored
            age = time.time() - max(state.resolved_at, attempted)
            if stamp == prints and age < self.settings.cache_seconds:
                self._state = state
                self._looked = time.monotonic()
                return state
        try:
            self._state = self._read()
        except ConfigError as exc:
            if stored is None:
                raise
            self._state = self._failed(stored[0], exc)
        self._looked = time.monotonic()
        return self._state

    def current(self) -> Inventory:
        """The inventory in force: this process's copy, or a newer one from Redis; a stale
        copy starts a refresh in the background."""
        if self._state is None:
            self.start()
        now = time.monotonic()
        if now - self._looked >= LOOK_EVERY:
            self._looked = now
            self._look()
        if self._state is None:
            raise RuntimeError("the inventory is not loaded")
        return self._state.inventory

    def refresh(self) -> InventoryState:
        """Read the sources now (`inventory refresh`); a failure keeps the last good one."""
        with self._lock:
            try:
                self._state = self._read()
            except ConfigError as exc:
                if self._state is None:
                    raise
                self._state = self._failed(self._state, exc)
            self._looked = time.monotonic()
            return self._state

    def refresh_within(self, seconds: float) -> InventoryState | None:
        """``refresh``, waiting at most ``seconds`` (Slack wants its answer within 3 s); None
        while the read goes on in the background."""
        done: list[InventoryState] = []

        def read() -> None:
            try:
                done.append(self.refresh())
            except Exception:
                log.exception("inventory refresh failed")

        reader = threading.Thread(target=read, name="toilbot-inventory", daemon=True)
        reader.start()
        reader.join(seconds)
        return done[0] if done else None

    # --- Redis ---------------------------------------------------------------------------

    def _look(self) -> None:
        try:
            fields = self.r.hmget(self.key, ["resolved_at", "attempted_at", "error", "error_at"])
            resolved, attempted = float(fields[0] or 0), float(fields[1] or 0)
            state = self._state
            if state is not None and resolved > state.resolved_at:
                stored = self._stored()
                if stored is not None:
                    self._state = stored[0]
            elif state is not None and fields[2] is not None:
                error = text(fields[2]) or None
                self._state = InventoryState(
                    state.inventory, state.resolved_at, error, float(fields[3] or 0) or None
                )
            due = time.time() - max(resolved, attempted) >= self.settings.cache_seconds
            if due and not self._refreshing.is_set():
                lock = self.key + ":lock"
                if self.r.set(lock, os.getpid(), nx=True, ex=self.settings.timeout + 30):
                    self._refreshing.set()
                    threading.Thread(
                        target=self._background, args=(lock,), name="toilbot-inventory", daemon=True
                    ).start()
        except redis.RedisError as exc:
            log.warning("inventory copy in Redis not read, this process keeps its own: %s", exc)

    def _background(self, lock: str) -> None:
        try:
            self.refresh()
        except Exception:
            log.exception("inventory refresh failed")
        finally:
            self._refreshing.clear()
            with contextlib.suppress(redis.RedisError):
                self.r.delete(lock)

    def _stored(self) -> tuple[InventoryState, str, float] | None:
        """(state, fingerprint, attempted_at) of the copy in Redis, if there is one."""
        try:
            raw = self.r.hgetall(self.key)
        except redis.RedisError as exc:
            log.warning("inventory copy in Redis not read: %s", exc)
            return None
        fields = text_map(raw)
        if "inventory" not in fields:
            return None
        state = InventoryState(
            Inventory.from_json(json.loads(fields["inventory"])),
            float(fields["resolved_at"]),
            fields.get("error") or None,
            float(fields.get("error_at") or 0) or None,
        )
        return state, fields.get("fingerprint", ""), float(fields.get("attempted_at") or 0)

    def _read(self) -> InventoryState:
        """Run ansible-inventory and keep what it says (in Redis too)."""
        started = time.time()
        inventory = self.loader(self.settings.sources, self.settings.timeout)
        state = InventoryState(inventory, started)
        for skipped in inventory.skipped:
            log.warning("inventory: %s", skipped.describe())
        if inventory.warnings:
            log.warning("ansible-inventory warned: %s", inventory.warnings)
        log.info(
            "inventory read from %s: %d hosts, %d groups",
            self.settings.label,
            len(inventory.hosts),
            len(inventory.groups),
        )
        self._write(
            {
                "inventory": json.dumps(inventory.to_json()),
                "resolved_at": repr(started),
                "attempted_at": repr(started),
                "fingerprint": fingerprint(self.settings.sources),
                "error": "",
                "error_at": "",
            }
        )
        return state

    def _failed(self, last: InventoryState, exc: ConfigError) -> InventoryState:
        now = time.time()
        log.error("inventory not refreshed, the last good one stays in use: %s", exc)
        self._write({"attempted_at": repr(now), "error": str(exc), "error_at": repr(now)})
        return InventoryState(last.inventory, last.resolved_at, str(exc), now)

    def _write(self, fields: Mapping[FieldT, EncodableT]) -> None:
        try:
            with self.r.pipeline() as pipe:
                pipe.hset(self.key, mapping=fields)
                pipe.expire(self.key, KEEP_SECONDS)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("inventory copy not written to Redis: %s", exc)
