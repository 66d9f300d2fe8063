"""Reading a file a person gave toilbot: every way it can fail is one ConfigError with a fix.

Besides a missing file: a directory, a FIFO or a device where a file was expected
(reading a FIFO would block start-up forever), a symbolic link loop, no permission,
and bytes that are not UTF-8.
"""

from __future__ import annotations

import errno
import stat
from pathlib import Path

from bot.platform import text
from bot.platform.errors import ConfigError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def read_text(path: Path) -> str:
    """The UTF-8 text of the regular file at ``path`` (a leading BOM is dropped)."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise ConfigError(str(path), "", text.file_not_regular(kind), text.file_fix_regular())
        data = path.read_bytes()
    except FileNotFoundError:
        problem, fix = text.file_missing()
        raise ConfigError(str(path), "", problem, fix) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            problem, fix = text.file_link_loop()
        elif exc.errno in (errno.EACCES, errno.EPERM):
            problem, fix = text.file_not_permitted()
        else:
            problem, fix = text.file_unreadable(exc.strerror or str(exc))
        raise ConfigError(str(path), "", problem, fix) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem, fix = text.file_not_utf8(line, data[exc.start])
        raise ConfigError(str(path), "", problem, fix) from None
