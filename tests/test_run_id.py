"""vaegan_utils.runtime.run_id: eight hex digits, fixed in a process, new in each."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from vaegan_utils import runtime

RUN_ID = re.compile(r"[0-9a-f]{8}")
CHILD = "from vaegan_utils import runtime; print(runtime.run_id())"


def _run_id_of_a_new_process() -> str:
    """The run id printed by a fresh Python process."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_run_id_is_eight_lowercase_hex_digits() -> None:
    """The id's format: exactly eight lowercase hex digits, nothing around them."""
    assert RUN_ID.fullmatch(runtime.run_id()), repr(runtime.run_id())


def test_run_id_is_stable_within_a_process() -> None:
    """Every call in one process (kernel) returns the same id."""
    first = runtime.run_id()
    assert all(runtime.run_id() == first for _ in range(100))


def test_run_id_differs_between_processes() -> None:
    """Two new processes each draw a valid id; the two and this process's all differ.

    Importing the runtime module stays light (no TensorFlow): well under a second each.
    """
    start = time.monotonic()
    children = [_run_id_of_a_new_process() for _ in range(2)]
    elapsed = time.monotonic() - start
    for child in children:
        assert RUN_ID.fullmatch(child), repr(child)
    assert len({*children, runtime.run_id()}) == 3, (children, runtime.run_id())
    assert elapsed < 20, f"two imports of vaegan_utils.runtime took {elapsed:.1f} s"
