"""Fixtures shared by the functional tests that build images."""

from tests.functional.buildproject import build_project

__all__ = ["build_project"]
