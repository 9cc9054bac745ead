from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunix_rt.files import atomic_file


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_written_file_has_the_mode_of_any_new_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "export.jsonl"
    with atomic_file(target) as handle:
        handle.write(b'{"a": 1}\n')
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"x")
    assert target.read_bytes() == b'{"a": 1}\n'
    assert _mode(target) == _mode(plain) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["export.jsonl"]


def test_a_failure_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "export.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write(b"half")
        raise RuntimeError("midway")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["export.jsonl"]
