"""The operator command's plain table (cli/output.py)."""

from socialomega.cli import output


def test_columns_line_up_and_the_last_one_is_not_padded():
    text = output.table(["name", "count", "reason"], [["processor", 2, "image rejected"], ["publisher-rest", 10, "x"]])
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "COUNT", "REASON"]
    starts = {line.index(word) for line, word in zip(lines, ["COUNT", "2", "10"], strict=True)}
    assert starts == {lines[0].index("COUNT")}  # the second column starts at one place
    assert all(line == line.rstrip() for line in lines)


def test_empty_cells_show_a_dash_long_ones_are_cut_and_newlines_do_not_break_a_row():
    text = output.table(["a", "b"], [[None, "x" * 100], ["", "two\nlines"]], max_width=20)
    rows = text.splitlines()
    assert len(rows) == 3
    assert rows[1].startswith("-") and rows[1].endswith("x" * 19 + "…")
    assert rows[2].endswith("two lines")


def test_no_rows_say_so_and_numbers_are_readable():
    assert output.table(["a"], [], empty="nothing here") == "nothing here"
    assert output.cell_text(2.5) == "2.50"
    assert output.cell_text({"likes": 3}) == "likes=3"


def test_json_is_sorted_and_takes_dates():
    from datetime import UTC, datetime

    assert output.as_json({"b": 1, "a": datetime(2026, 11, 24, tzinfo=UTC)}).splitlines()[1].strip().startswith('"a"')
