"""Path rules of downloads: sanitized components, joins proven inside the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orthanc_frames.transfer import UnsafePathError, join_inside, safe_component
from orthanc_frames.transfer._layout import component_name
from orthanc_frames.transfer.paths import MAX_COMPONENT_BYTES, unique_names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../x", "x"),
        ("..\\..\\evil", "evil"),
        ("/etc/passwd", "etc_passwd"),
        ("a\x00b\x1fc\x7fd", "a_b_c_d"),
        ('what<>:"|?*ever', "what_ever"),
        ("name. . ", "name"),
        (".hidden", "hidden"),
        ("CON", "_CON"),
        ("lpt1.txt", "_lpt1.txt"),
        ("Müller^Jürgen", "Müller^Jürgen"),
        ("  many   spaces\tand\ttabs ", "many spaces and tabs"),
    ],
)
def test_safe_component_neutralizes_path_meaning(raw: str, expected: str) -> None:
    assert safe_component(raw) == expected


@pytest.mark.parametrize("raw", ["", "..", ".", "/", "\\", "\x00", " . ", None])
def test_safe_component_uses_the_fallback_when_nothing_is_left(raw: object) -> None:
    assert safe_component(raw, fallback="1.2.840.10008") == "1.2.840.10008"


def test_safe_component_refuses_when_the_fallback_is_empty_too() -> None:
    with pytest.raises(ValueError, match="fallback"):
        safe_component("..", fallback="../")


def test_safe_component_caps_the_length_in_utf8_bytes() -> None:
    name = safe_component("山" * 200)
    assert len(name.encode("utf-8")) <= MAX_COMPONENT_BYTES
    assert name == "山" * (MAX_COMPONENT_BYTES // 3)


def test_join_inside_accepts_sanitized_components(tmp_path: Path) -> None:
    joined = join_inside(tmp_path, safe_component("../a"), safe_component("b/../../c"))
    assert joined == tmp_path.resolve() / "a" / "b_.._.._c"


@pytest.mark.parametrize("components", [("..", "x"), ("a", "..", "..", "x"), ("/etc",), (".",)])
def test_join_inside_refuses_what_escapes_or_is_the_root(
    tmp_path: Path, components: tuple[str, ...]
) -> None:
    with pytest.raises(UnsafePathError, match="not inside the download folder"):
        join_inside(tmp_path / "out", *components)


def test_join_inside_refuses_a_symlink_leading_out(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "out" / "link")
    with pytest.raises(UnsafePathError):
        join_inside(tmp_path / "out", "link", "file.dcm")


def test_unique_names_appends_suffixes_only_to_colliding_names() -> None:
    names = {"id1": "2020 - CT", "id2": "2020 - ct", "id3": "2021 - CT"}
    unique = unique_names(names, {"id1": "aaaa", "id2": "bbbb", "id3": "cccc"})
    assert unique == {"id1": "2020 - CT [aaaa]", "id2": "2020 - ct [bbbb]", "id3": "2021 - CT"}


def test_component_names_follow_the_layout() -> None:
    patient = {"PatientID": "P1", "PatientName": "Doe^John"}
    study = {"StudyDate": "20200101", "StudyDescription": "Head/Neck"}
    series = {"SeriesNumber": "3", "Modality": "CT", "SeriesDescription": ""}
    assert component_name("patient", patient, "x") == "P1 - Doe John"
    assert component_name("study", study, "x") == "20200101 - Head_Neck"
    assert component_name("series", series, "x") == "3 - CT"
    assert component_name("instance", {"InstanceNumber": "12"}, "x") == "0012"
    assert component_name("instance", {}, "1.2.3.4") == "1.2.3.4"
