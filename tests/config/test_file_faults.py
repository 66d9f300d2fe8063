"""Broken files give one line naming the file and the fix, and exit code 3; never a traceback
(issue 14, item 8): bytes that are not UTF-8, a symbolic link loop, a FIFO, a directory, in
toilbot.yaml, a command spec and an inventory file (read by ansible-inventory, which would
hang on a FIFO and answer a bad byte in thirty lines)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.platform.errors import ConfigError
from bot.platform.files import read_text
from tests.conftest import toilbot_cli

LATIN1 = "timezone: Europe/Oslo  # Zürich\n".encode("latin-1")


def _not_utf8(path: Path) -> None:
    path.write_bytes(path.read_bytes() + LATIN1)


def _link_loop(path: Path) -> None:
    path.unlink()
    other = path.with_name(path.name + ".other")
    other.symlink_to(path)
    path.symlink_to(other)


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "not utf-8": (_not_utf8, "is not UTF-8 text (byte 0xfc on line"),
    "link loop": (_link_loop, "is a loop of symbolic links"),
    "fifo": (_fifo, "is a named pipe (FIFO), not a file"),
    "directory": (_directory, "is a directory, not a file"),
}


CASES = [
    (which, fault)
    for which in ("toilbot.yaml", "commands/slow.yaml", "hosts.yml")
    for fault in sorted(FAULTS)
    if (which, fault) != ("hosts.yml", "directory")  # an inventory directory is a source
]


@pytest.mark.parametrize(("which", "fault"), CASES)
def test_a_broken_file_is_one_line_and_exit_3(env, config_path, fault, which):
    path = config_path.parent / which
    make, expected = FAULTS[fault]
    make(path)
    # Starting refuses with exit code 3; `toilbot check` reports it as a failed check (1).
    for args, code in ((("exec", "help"), 3), (("worker",), 3), (("check",), 1)):
        proc = toilbot_cli(env, *args, timeout=60)
        assert code == proc.returncode, (args, proc.stdout, proc.stderr)
        said = (proc.stderr + proc.stdout).strip()
        assert "Traceback" not in said
        line = next(x for x in said.splitlines() if str(path) in x)
        assert expected in line, line
        assert "Fix:" in line, line
        if code == 3:
            assert 1 == len(proc.stderr.strip().splitlines()), proc.stderr


def test_utf8_with_a_bom_is_read(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfkey: value\n")
    assert "key: value\n" == read_text(path)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match=r"file not found\. Fix: create it"):
        read_text(tmp_path / "missing.yaml")
