"""A pip-installed skid carries the stack and its profiles: the wheel holds compose/ and profiles/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_bundles_compose_files_profiles_and_the_console_script(tmp_path: Path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("skid_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("skid_tui/bundled/compose/skidbladnir.yml", "skid_tui/bundled/compose/demo.yml",
                     "skid_tui/bundled/compose/demo/build-images.sh", "skid_tui/bundled/profiles/minimal.yaml",
                     "skid_tui/ui/skid.tcss"):
        assert expected in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "skid = skid_tui.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
