"""A minimal RFC 6455 WebSocket server side, standard library only.

Enough for slack_sdk's builtin Socket Mode client
(`slack_sdk.socket_mode.builtin.connection`): it sends a plain HTTP/1.1 upgrade
(no TLS when the URL has a port other than 443), checks `Sec-WebSocket-Accept`,
pings right away with "<session id>:<time>" and expects that payload back in a
pong, masks every frame it sends and never fragments; it reads our unmasked
frames with 7-, 16- or 64-bit lengths.

Faithful: handshake (`Sec-WebSocket-Accept` = base64(SHA-1(key + GUID))), masked
client frames (an unmasked one is a protocol error, close 1002), unmasked server
frames, ping → pong with the same payload, close handshake with status codes,
continuation frames reassembled.
Simplified: no extensions (permessage-deflate), no subprotocols, text frames
are not checked for valid UTF-8 before delivery.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002


def accept_key(key: str) -> str:
    """The `Sec-WebSocket-Accept` value answering a client's `Sec-WebSocket-Key`."""
    digest = hashlib.sha1((key.strip() + GUID).encode("ascii")).digest()  # noqa: S324 (RFC 6455)
    return base64.b64encode(digest).decode("ascii")


def encode_frame(opcode: int, payload: bytes, *, mask_key: bytes | None = None) -> bytes:
    """One final frame; servers send unmasked (`mask_key=None`), clients masked."""
    head = bytes([0x80 | opcode])
    mask_bit = 0x80 if mask_key is not None else 0
    length = len(payload)
    if length <= 125:
        head += bytes([mask_bit | length])
    elif length <= 0xFFFF:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask_key is None:
        return head + payload
    return head + mask_key + _unmask(payload, mask_key)


def _unmask(data: bytes, key: bytes) -> bytes:
    repeated = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(data), "big"
    )


class ByteStream(Protocol):
    """What frames are read from: a buffered socket file (`sock.makefile("rb")`)."""

    def read(self, size: int, /) -> bytes | None: ...


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes
    masked: bool


class ProtocolError(Exception):
    """The peer broke RFC 6455; the connection is closed with 1002."""


def _read_exact(stream: ByteStream, size: int) -> bytes | None:
    data = stream.read(size) if size else b""
    if data is None or len(data) < size:
        return None
    return data


def read_frame(stream: ByteStream) -> Frame | None:
    """The next frame from `stream`, or None when the peer has gone."""
    head = _read_exact(stream, 2)
    if head is None:
        return None
    fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
    if head[0] & 0x70:
        raise ProtocolError("reserved bits set without a negotiated extension")
    masked, length = bool(head[1] & 0x80), head[1] & 0x7F
    if length >= 126:
        extended = _read_exact(stream, 2 if length == 126 else 8)
        if extended is None:
            return None
        length = struct.unpack("!H" if len(extended) == 2 else "!Q", extended)[0]
    key = _read_exact(stream, 4) if masked else b""
    payload = _read_exact(stream, length)
    if key is None or payload is None:
        return None
    return Frame(fin, opcode, _unmask(payload, key) if masked else payload, masked)


class WebSocketConnection:
    """The server end of one upgraded connection.

    `serve()` runs in the thread that accepted the connection and returns when
    it closes; `send_text`, `ping` and `close` may be called from any thread.
    """

    def __init__(self, sock: socket.socket, stream: ByteStream) -> None:
        self._sock = sock
        self._stream = stream
        self._send_lock = threading.Lock()
        self._closed = threading.Event()
        self._close_sent = False

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _send(self, opcode: int, payload: bytes) -> bool:
        with self._send_lock:
            if self._close_sent:
                return False
            try:
                self._sock.sendall(encode_frame(opcode, payload))
            except OSError:
                self._closed.set()
                return False
            if opcode == OP_CLOSE:
                self._close_sent = True
            return True

    def send_text(self, text: str) -> bool:
        return self._send(OP_TEXT, text.encode("utf-8"))

    def ping(self, payload: bytes = b"") -> bool:
        return self._send(OP_PING, payload)

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Start the close handshake; the peer's close frame ends `serve()`."""
        self._send(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"))

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake (a crash, a network cut)."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def keep_pinging(self, interval: float) -> None:
        """Ping every `interval` seconds until closed (Slack's servers ping too)."""

        def loop() -> None:
            while not self._closed.wait(interval):
                self.ping(b"emulator")

        threading.Thread(target=loop, name="ws-ping", daemon=True).start()

    def serve(self, on_text: Callable[[str], None], on_pong: Callable[[bytes], None]) -> None:
        try:
            self._receive_loop(on_text, on_pong)
        except ProtocolError:
            self.close(CLOSE_PROTOCOL_ERROR, "protocol error")
        except OSError:
            pass
        finally:
            self._closed.set()

    def _receive_loop(
        self, on_text: Callable[[str], None], on_pong: Callable[[bytes], None]
    ) -> None:
        fragments: list[bytes] = []
        fragment_opcode = OP_TEXT
        while not self._closed.is_set():
            frame = read_frame(self._stream)
            if frame is None:
                return
            if not frame.masked:
                raise ProtocolError("client frames must be masked")
            if frame.opcode == OP_PING:
                self._send(OP_PONG, frame.payload)
            elif frame.opcode == OP_PONG:
                on_pong(frame.payload)
            elif frame.opcode == OP_CLOSE:
                self._send(OP_CLOSE, frame.payload[:2])
                return
            elif frame.opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                if frame.opcode != OP_CONTINUATION:
                    fragments, fragment_opcode = [], frame.opcode
                fragments.append(frame.payload)
                if frame.fin and fragment_opcode == OP_TEXT:
                    on_text(b"".join(fragments).decode("utf-8", errors="replace"))
            else:
                raise ProtocolError(f"unknown opcode {frame.opcode}")
