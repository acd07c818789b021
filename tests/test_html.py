"""``html_card``: every text escaped, empty fields left out (no server)."""

from __future__ import annotations

from orthanc_frames._html import html_card

HOSTILE = "<script>alert('x')</script> & \"q\""
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"


def test_title_id_keys_values_headers_and_cells_are_escaped() -> None:
    card = html_card(
        HOSTILE, HOSTILE, {HOSTILE: HOSTILE}, table=[[HOSTILE, 1]], headers=[HOSTILE, "n"]
    )
    assert "<script>" not in card
    assert card.count(ESCAPED) == 6
    assert card.startswith(f"<b>{ESCAPED}</b> <code>{ESCAPED}</code>")


def test_empty_fields_and_missing_parts_are_left_out() -> None:
    card = html_card("Study", None, {"Date": "", "Labels": [], "Modality": None, "ID": 0})
    assert card == (
        "<b>Study</b><table><tr><th style='text-align:left'>ID</th>"
        "<td style='text-align:left'>0</td></tr></table>"
    )
    assert html_card("Series") == "<b>Series</b>"


def test_a_cut_table_says_how_many_rows_are_left() -> None:
    card = html_card("Frames", table=[["a"], ["b"]], headers=["level"], more=3)
    assert card.endswith("<i>... and 3 more</i>")
    assert card.count("<tr>") == 3
    assert "more" not in html_card("Frames", table=[["a"]], headers=["level"])
