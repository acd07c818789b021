"""Orthanc jobs: follow, wait for, pause, resume, cancel and resubmit them."""

from __future__ import annotations

import datetime as dt
import enum
import time
from typing import TYPE_CHECKING, Any

from .._deprecation import renamed_keyword
from .._html import html_card
from .._progress import progress_bar
from ..client import route
from ..client.errors import NotFound, OrthancError, Timeout
from ..dicom_values import parse_orthanc_timestamp
from ._handle import ServerHandle

if TYPE_CHECKING:
    from ..client import Orthanc

__all__ = ["Job", "JobError", "JobFailed", "JobLost", "JobState", "JobTimeout"]

_FIRST_POLL_SECONDS = 0.05
_MAX_POLL_SECONDS = 1.0


class JobState(str, enum.Enum):
    """The state of an Orthanc job (compares equal to Orthanc's own text)."""

    PENDING = "Pending"
    """Waiting for a worker."""
    RUNNING = "Running"
    """Being executed."""
    SUCCESS = "Success"
    """Finished successfully."""
    FAILURE = "Failure"
    """Finished with an error, or cancelled."""
    PAUSED = "Paused"
    """Paused by a user; :meth:`Job.resume` puts it back in the queue."""
    RETRY = "Retry"
    """Failed and waiting to be retried."""

    @property
    def is_final(self) -> bool:
        """Whether the job has ended (Success or Failure)."""
        return self in (JobState.SUCCESS, JobState.FAILURE)


class JobError(int):
    """Why a job failed, as Orthanc says it: Orthanc's error code, with its words.

    An ``int`` (the R package's ``Job$error`` is the ``ErrorCode``): ``0``
    is success, so ``if job.error:`` is true when the job failed; it
    compares equal to the code (``job.error == 37`` for a cancelled job).

    Attributes
    ----------
    code : int
        Orthanc's error code (``ErrorCode``; 0 is success, 37 a cancelled job).
    description : str
        Orthanc's name for the error (``ErrorDescription``).
    details : str
        Orthanc's details (``ErrorDetails``), often the most precise explanation.
    """

    description: str
    details: str

    def __new__(cls, code: int, description: str = "", details: str = "") -> JobError:
        error = super().__new__(cls, code)
        error.description = description
        error.details = details
        return error

    @property
    def code(self) -> int:
        """Orthanc's error code, as a plain ``int``."""
        return int(self)

    def __repr__(self) -> str:
        return (
            f"JobError(code={int(self)}, description={self.description!r}, "
            f"details={self.details!r})"
        )

    def __str__(self) -> str:
        text = f"{self.description} (Orthanc error {int(self)})"
        return f"{text}: {self.details}" if self.details else text


class JobFailed(OrthancError):
    """A job ended in Failure.

    Attributes
    ----------
    job_id : str
        The Orthanc ID of the job.
    job_type : str
        Orthanc's job type, e.g. ``"ResourceModification"``.
    error : JobError
        Orthanc's error code, description and details.
    """

    def __init__(self, job_id: str, job_type: str, error: JobError) -> None:
        self.job_id = job_id
        self.job_type = job_type
        self.error = error
        super().__init__(
            f"Orthanc job {job_id} ({job_type}) failed: {error}. "
            f"Inspect it with Job({job_id!r}, client).info or GET /jobs/{job_id}; "
            "fix the cause and call .resubmit()."
        )


class JobTimeout(Timeout):
    """A job did not end within the time given to :meth:`Job.wait_until_completion`."""


class JobLost(OrthancError):
    """The server no longer knows a job whose end was not seen.

    Orthanc keeps only the last ``JobsHistorySize`` finished jobs (10 by
    default): with many jobs at once, a job can end and drop out of the
    history before it is read again. Its outcome is then unknown from the
    job itself; :meth:`Resource.anonymize` and :meth:`Resource.modify`
    look for the copy it made instead.

    Attributes
    ----------
    job_id : str
        The Orthanc ID of the job.
    """

    def __init__(self, job_id: str, message: str) -> None:
        self.job_id = job_id
        super().__init__(message)


class Job(ServerHandle):
    """One job of an Orthanc server.

    Every property reads ``/jobs/{id}`` again: a job changes while it runs.

    Parameters
    ----------
    id : str
        The job's ID, as returned by an asynchronous request.
    client : Orthanc
        The client of the server that runs it.

    Examples
    --------
    >>> job = study.anonymize_as_job()
    >>> content = job.wait_until_completion(progress=True)
    >>> Study(content["ID"], client)  # doctest: +ELLIPSIS
    Study('...')
    """

    def __init__(self, id: str, client: Orthanc) -> None:
        if not isinstance(id, str) or not id:
            raise ValueError(f"Job needs an Orthanc job ID (a non-empty string), got {id!r}.")
        self._id = id
        self._client = client
        self._last: dict[str, Any] = {}

    def __repr__(self) -> str:
        known = ""
        if self._last:
            known = f", type={self._last.get('Type')!r}, state={self._last.get('State')!r}"
        return f"Job({self._id!r}{known})"

    def _repr_html_(self) -> str:
        info = self._last
        fields = {
            k: info.get(k)
            for k in ("Type", "State", "Progress", "CreationTime", "ErrorDescription")
        }
        return html_card("Job", self._id, fields)

    # -- what the server says ------------------------------------------------

    def get_information(self) -> dict[str, Any]:
        """Read ``/jobs/{id}`` now and return Orthanc's description of the job."""
        self._last = dict(self._client.GET(route("jobs", self._id)))
        return dict(self._last)

    @property
    def info(self) -> dict[str, Any]:
        """Orthanc's description of the job, read now."""
        return self.get_information()

    @property
    def state(self) -> JobState:
        """The job's :class:`JobState`, read now."""
        return JobState(self.get_information()["State"])

    @property
    def progress(self) -> int:
        """Percent done (0-100), read now."""
        return int(self.get_information().get("Progress", 0))

    @property
    def content(self) -> dict[str, Any]:
        """The job's output so far (``Content``), e.g. ``{"ID": new_id, ...}``."""
        return dict(self.get_information().get("Content") or {})

    @property
    def type(self) -> str:
        """Orthanc's job type, e.g. ``"ResourceModification"``, ``"Archive"``."""
        return str(self.get_information().get("Type", ""))

    @property
    def priority(self) -> int:
        """The job's priority (higher runs first)."""
        return int(self.get_information().get("Priority", 0))

    @property
    def creation_time(self) -> dt.datetime | None:
        """When the job was submitted (server local time)."""
        return _timestamp(self.get_information().get("CreationTime"))

    @property
    def completion_time(self) -> dt.datetime | None:
        """When the job ended, or ``None`` while it has not."""
        return _timestamp(self.get_information().get("CompletionTime"))

    @property
    def timestamp(self) -> dt.datetime | None:
        """When Orthanc produced this description of the job."""
        return _timestamp(self.get_information().get("Timestamp"))

    @property
    def effective_runtime(self) -> dt.timedelta:
        """How long the job has actually run (pauses excluded)."""
        return dt.timedelta(seconds=float(self.get_information().get("EffectiveRuntime", 0.0)))

    @property
    def error(self) -> JobError:
        """Orthanc's error code of the job, with its description and details.

        As in the R package, the value is the ``ErrorCode``: ``0`` (falsy)
        while the job has not failed; a :class:`JobError` is an ``int``
        that also carries ``.description`` and ``.details``.
        """
        return _error_of(self.get_information())

    @property
    def error_details(self) -> str | None:
        """Orthanc's ``ErrorDetails`` text (the seed's name), ``None`` when empty."""
        return self.get_information().get("ErrorDetails") or None

    # -- control -------------------------------------------------------------

    def cancel(self) -> None:
        """Cancel the job: it ends in Failure (Orthanc error 37, CanceledJob)."""
        self._client.POST(route("jobs", self._id, "cancel"), json={})

    def pause(self) -> None:
        """Pause the job; :meth:`resume` lets it go on."""
        self._client.POST(route("jobs", self._id, "pause"), json={})

    def resume(self) -> None:
        """Resume a paused job (it goes back to the queue)."""
        self._client.POST(route("jobs", self._id, "resume"), json={})

    def resubmit(self) -> None:
        """Run a failed or cancelled job again from its start."""
        self._client.POST(route("jobs", self._id, "resubmit"), json={})

    def wait_until_completion(
        self,
        interval: float | None = None,
        *,
        wait: float | None = None,
        progress: bool | None = None,
        poll: float | None = None,
        desc: str = "",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Wait until the job ends; return its content on success.

        Parameters
        ----------
        interval : float, optional
            Seconds between two reads of the job's state, as the R package's
            ``wait_until_completion(interval = 2L)``; the same as ``poll``.
        wait : float, optional
            Seconds to wait at most; ``None`` waits until the job ends.
        progress : bool, optional
            Show a progress bar of the job's percent done (default: in
            notebooks and terminals only).
        poll : float, optional
            Seconds between two reads of the job's state. Default: starts at
            0.05 s and grows to 1 s, so short jobs return quickly and long
            ones cost few requests.
        desc : str
            Label of the progress bar (default: the job's type).
        timeout : float, optional
            Deprecated name of ``wait`` (``timeout`` is the client's HTTP
            timeout); warns.

        Returns
        -------
        dict
            The job's ``Content`` (for a modification: ``{"ID": new_id, ...}``).

        Notes
        -----
        A paused job is waited for until someone resumes it (or ``wait`` passes).

        Raises
        ------
        JobFailed
            When the job ends in Failure (also after :meth:`cancel`), with
            Orthanc's error code, description and details.
        JobTimeout
            When ``wait`` passes first; the job keeps running on the server.
        JobLost
            When the server does not know the job (any more): a finished job
            drops out of Orthanc's history once ``JobsHistorySize`` newer
            ones have ended.
        """
        wait = renamed_keyword("timeout", timeout, "wait", wait)
        if interval is not None and poll is not None and interval != poll:
            raise ValueError(
                f"interval={interval!r} and poll={poll!r} name the same thing: give one."
            )
        poll = interval if poll is None else poll
        if poll is not None and (isinstance(poll, bool) or not isinstance(poll, (int, float))):
            raise TypeError(f"interval must be a number of seconds, not {poll!r}.")
        if poll is not None and poll < 0:
            raise ValueError(f"interval must be 0 or more seconds, not {poll!r}.")
        deadline = None if wait is None else time.monotonic() + wait
        delay = _FIRST_POLL_SECONDS if poll is None else poll
        info = self._information_while_waiting(desc)
        with progress_bar(100, desc=desc or str(info.get("Type", "job")), enabled=progress) as bar:
            shown = 0
            while True:
                done = int(info.get("Progress", 0))
                if done > shown:
                    bar.update(done - shown)
                    shown = done
                state = JobState(info["State"])
                if state is JobState.SUCCESS:
                    bar.update(100 - shown)
                    return dict(info.get("Content") or {})
                if state is JobState.FAILURE:
                    raise JobFailed(self._id, str(info.get("Type", "")), _error_of(info))
                if deadline is not None and time.monotonic() >= deadline:
                    raise JobTimeout(
                        f"Orthanc job {self._id} ({info.get('Type')}) is still {state.value} "
                        f"at {done}% after {wait} s; it keeps running on the server. "
                        "Wait again, or cancel it with .cancel()."
                    )
                pause = delay
                if deadline is not None:
                    pause = max(0.0, min(pause, deadline - time.monotonic()))
                time.sleep(pause)
                if poll is None:
                    delay = min(delay * 1.5, _MAX_POLL_SECONDS)
                info = self._information_while_waiting(desc)

    def _information_while_waiting(self, desc: str) -> dict[str, Any]:
        try:
            return self.get_information()
        except NotFound:
            what = f" ({desc})" if desc else ""
            raise JobLost(
                self._id,
                f"Orthanc job {self._id}{what} is not known to the server: its end was not "
                "seen before it dropped out of Orthanc's job history (the server keeps only "
                "JobsHistorySize finished jobs), or the ID is wrong. Check the server for the "
                "result, or raise JobsHistorySize / run fewer jobs at once.",
            ) from None


def _timestamp(text: str | None) -> dt.datetime | None:
    return parse_orthanc_timestamp(text)


def _error_of(info: dict[str, Any]) -> JobError:
    return JobError(
        code=int(info.get("ErrorCode", -1)),
        description=str(info.get("ErrorDescription", "")),
        details=str(info.get("ErrorDetails", "")),
    )
