"""The layers point one way: stack and engine never import Textual (import-linter checks it too)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["skid_tui.stack", "skid_tui.engine.watcher", "skid_tui.cli"])
def test_no_textual_below_the_ui(module):
    code = f"import sys, {module}; print('textual' in sys.modules, 'docker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    textual_loaded, docker_loaded = out.split()
    assert textual_loaded == "False"
    if module == "skid_tui.stack":
        assert docker_loaded == "False"
