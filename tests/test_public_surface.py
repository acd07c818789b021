"""The public surface is true: what ``__all__`` names exists, nothing shadows a builtin,
documented errors are importable, and ``help()`` shows every parameter."""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Callable
from typing import Any

import pytest

import orthanc_frames as of
from orthanc_frames.frames import bulk
from orthanc_frames.frames.accessor import OrthancAccessor
from orthanc_frames.resources.modification import option_names


def test_every_name_of_all_is_importable_and_none_shadows_a_builtin() -> None:
    namespace: dict[str, Any] = {}
    exec("from orthanc_frames import *", namespace)
    missing = [name for name in of.__all__ if not hasattr(of, name)]
    assert not missing
    assert set(namespace) - {"__builtins__"} == set(of.__all__)
    shadowed = sorted(set(of.__all__) & set(dir(builtins)))
    assert not shadowed, f"from orthanc_frames import * would hide the builtins {shadowed}"


def test_connection_error_and_timeout_stay_reachable_outside_all() -> None:
    assert "ConnectionError" not in of.__all__ and "Timeout" not in of.__all__
    assert issubclass(of.ConnectionError, builtins.ConnectionError)
    assert issubclass(of.Timeout, builtins.TimeoutError)
    assert issubclass(of.JobTimeout, of.Timeout)


@pytest.mark.parametrize(
    "name",
    [
        "ExtraTagsCostWarning",
        "OrthancLinkError",
        "JobError",
        "JobLost",
        "OutcomeUnknown",
        "UnknownKeywordError",
    ],
)
def test_documented_errors_and_warnings_are_exported(name: str) -> None:
    assert name in of.__all__
    assert getattr(of, name).__module__.startswith("orthanc_frames.")


def test_the_accessor_link_error_is_the_one_exported() -> None:
    import pandas as pd

    with pytest.raises(of.OrthancLinkError, match=r"re-attach|linked"):
        _ = pd.DataFrame({"a": [1]}).orthanc


def _entry_points() -> list[Callable[..., Any]]:
    from orthanc_frames import widgets

    return [
        of.browse,
        widgets.browse,
        of.Frames.browse,
        of.Frames.from_folder,
        of.Orthanc.frames,
        of.AsyncOrthanc.frames,
    ]


@pytest.mark.parametrize("function", _entry_points(), ids=lambda f: f.__qualname__)
def test_entry_points_show_every_parameter(function: Callable[..., Any]) -> None:
    kinds = [p.kind for p in inspect.signature(function).parameters.values()]
    assert inspect.Parameter.VAR_KEYWORD not in kinds, f"{function.__qualname__} hides **kwargs"
    documented = function.__doc__ or ""
    if "same arguments" in documented:  # AsyncOrthanc.frames: those of Orthanc.frames
        documented = of.Orthanc.frames.__doc__ or ""
    for name in inspect.signature(function).parameters:
        if name not in ("self", "cls"):
            assert name in documented, f"{function.__qualname__} does not document {name}"


def _option_takers() -> list[tuple[Callable[..., Any], str, bool]]:
    """(function, operation, whether remove/replace/keep may come by position as in R)."""
    return [
        (of.Resource.anonymize, "anonymize", True),
        (of.Resource.anonymize_as_job, "anonymize", True),
        (of.Resource.modify, "modify", True),
        (of.Resource.modify_as_job, "modify", True),
        (of.Instance.anonymized_bytes, "anonymize", True),
        (of.Instance.modified_bytes, "modify", True),
        (bulk.anonymize, "anonymize", False),
        (bulk.modify, "modify", False),
        (OrthancAccessor.anonymize, "anonymize", False),
        (OrthancAccessor.modify, "modify", False),
    ]


@pytest.mark.parametrize(
    ("function", "operation", "r_positional"),
    _option_takers(),
    ids=lambda value: getattr(value, "__qualname__", str(value)),
)
def test_every_anonymize_and_modify_takes_the_one_set_of_options(
    function: Callable[..., Any], operation: str, r_positional: bool
) -> None:
    parameters = inspect.signature(function).parameters
    stored = "keep_source" in parameters
    names = option_names(operation, stored=stored)  # type: ignore[arg-type]
    assert [name for name in parameters if name in names] == list(names)
    for name in names:
        positional = parameters[name].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert positional == (r_positional and name in ("remove", "replace", "keep")), name
        assert name in (function.__doc__ or ""), f"{name} is not documented"
    assert "{options}" not in (function.__doc__ or "")


def test_options_go_by_keyword_where_r_has_no_order() -> None:
    with pytest.raises(TypeError):
        bulk.anonymize(None, "series", [], {"PatientName": "x"})
    with pytest.raises(TypeError, match="dicom_version"):
        bulk.modify(None, "series", [], dicom_version="2023b")
