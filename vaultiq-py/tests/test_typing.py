"""`mypy --strict` on a usage file passes against the stubs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_mypy_strict_on_usage_file() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(HERE / "typing_usage.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_catches_misuse(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import vaultiq\n"
        "kb = vaultiq.KnowledgeBase('.')\n"
        "n: int = kb.ask('q').answer\n"
        "kb.search('q', mode='fuzzy')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(wrong)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    assert "wrong.py:3" in done.stdout and "wrong.py:4" in done.stdout


def test_package_ships_the_typing_marker() -> None:
    import vaultiq

    package = Path(vaultiq.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_native.pyi").is_file()
