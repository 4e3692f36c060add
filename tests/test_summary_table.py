"""`print_table` shows model text verbatim: rich markup in a cell is text, never styling."""

import polars as pl
import pytest

from workbench.summary import print_table


@pytest.mark.parametrize("text", ["[bold red]12[/bold red]", "[/]", "a [link=http://x]b[/link]"])
def test_markup_in_cells_is_printed_verbatim(capsys: pytest.CaptureFixture[str], text: str) -> None:
    print_table(pl.DataFrame({"answer [x]": [text], "n": [1]}), title="runs in /tmp/[red]db")
    out = capsys.readouterr().out
    assert text in out
    assert "answer [x]" in out
    assert "/tmp/[red]db" in out  # the title wraps to the table width
