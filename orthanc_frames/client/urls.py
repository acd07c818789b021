"""Server URLs without their secrets: the one rule for what may be shown or stored."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["without_credentials"]


def without_credentials(url: str, *, mark: str = "") -> str:
    """``url`` without ``user:password@``, query and fragment (where secrets travel).

    Parameters
    ----------
    url : str
        A server URL, possibly malformed (it is then cut at its last ``@``).
    mark : str
        Put in place of removed credentials (``"***"`` in error messages,
        so that a reader sees some were given); nothing by default.

    Examples
    --------
    >>> without_credentials("http://alice:s3cret@pacs:8042/orthanc?token=x")
    'http://pacs:8042/orthanc'
    >>> without_credentials("http://alice:s3cret@pacs:8042", mark="***")
    'http://***@pacs:8042'
    >>> without_credentials("http://a:b@[bad")
    '[bad'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        if "@" not in url:
            return url
        return (f"{mark}@" if mark else "") + url.rsplit("@", 1)[-1]
    netloc = parts.netloc
    if "@" in netloc:
        netloc = (f"{mark}@" if mark else "") + netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
