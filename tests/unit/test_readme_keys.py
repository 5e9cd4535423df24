"""The README's key table is the one the dashboard binds (ops.keys), never a stale copy."""

from pathlib import Path

from skid_tui.ops.keys import markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_key_table_is_generated_from_the_bindings():
    text = README.read_text()
    table = text.split("<!-- keys:begin -->\n", 1)[1].split("<!-- keys:end -->", 1)[0]
    assert table == markdown(), "README's key table is stale: paste `python -c 'from skid_tui.ops.keys import " \
                                "markdown; print(markdown(), end=\"\")'` between the keys markers"
