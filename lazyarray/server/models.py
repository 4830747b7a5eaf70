"""The shapes of the job routes' requests and answers (``POST /v1/jobs``, the job's
state, its errors), shared by the job and workflow routes: the OpenAPI document names
each once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from lazyarray.jobs import JobStatus

# a finished job's result this small comes back in its state when asked (``inline``):
# a tiny job is then one request, its submission waiting for its end
INLINE_RESULT_BYTES = 256 << 10
WAIT_QUERY = Query(0.0, ge=0.0, le=60.0, description="seconds to wait for the job's end")
INLINE_QUERY = Query(
    False,
    description=f"a Completed job's result of at most {INLINE_RESULT_BYTES} bytes in the answer",
)

FORMAT_DESCRIPTION = (
    "the result's format: npy, npz, json or arrow; by default the one that holds the "
    "result (npy for one unmasked result, npz for a masked one or several)"
)
ErrorHandling = Literal["ignore", "warn", "raise", "call", "print", "log"]


class ErrState(BaseModel):
    """numpy's floating-point error handling where the compute was asked for (the
    caller's ``numpy.geterr()``); "call" and "log", whose callable stays with the
    caller, are "warn" on the server."""

    model_config = ConfigDict(extra="forbid")
    divide: ErrorHandling = "warn"
    over: ErrorHandling = "warn"
    under: ErrorHandling = "ignore"
    invalid: ErrorHandling = "warn"


class RunOptions(BaseModel):
    """The caller's options that change what a job computes (docs/configuration.md)."""

    model_config = ConfigDict(extra="forbid")
    fast_math: bool = False
    disabled: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list)
    warnings: Literal["warn", "error"] = Field(
        default="warn",
        description="a warning of the run: kept in the job's state (warned again where it "
        "was asked for), or raised there as an error, failing the job, as the caller's "
        "warning filters say",
    )


class Presentation(BaseModel):
    """How the submitting client hands the job's values back (its ``compute``'s
    ``format``, and whether it returns the one value alone): kept with the job and
    shown in its state, so a client reopening it gives what the submitter's job gives."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["pyarrow", "npy", "npz", "json", "arrow"] = "pyarrow"
    unpack: bool = False


class InspectRequest(BaseModel):
    """A graph computed at once (and, as ``JobRequest``, a job); an unknown field is
    refused (422), as every request body is: a misspelt field is not silently dropped."""

    model_config = ConfigDict(extra="forbid")
    graph: dict[str, Any] = Field(description="a graph document (docs/graph-format.md)")
    arguments: dict[str, Any] = Field(default_factory=dict)
    format: str | None = Field(default=None, description=FORMAT_DESCRIPTION)
    errstate: ErrState | None = Field(default=None, description="numpy's, where asked")
    options: RunOptions | None = None
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="seconds (an inspect's: at most the server's limit, then 408 and its "
        "computation stops)",
    )


class JobRequest(InspectRequest):
    submission_id: str | None = Field(default=None, max_length=200)
    presentation: Presentation | None = None
    timeout: float | None = Field(default=None, gt=0, description="seconds, then Cancelled")


class InlineResult(BaseModel):
    """A small result in the job's state, as the bytes ``/result`` would send."""

    media_type: str
    base64: str


class JobWarning(BaseModel):
    """A warning the job raised: its class's name (a builtin warning or numpy's, else
    "UserWarning") and message."""

    category: str
    message: str


class JobState(BaseModel):
    job_id: str
    status: JobStatus
    message: str
    completed_steps: int
    total_steps: int
    attempts: int
    created: float
    started: float | None
    finished: float | None
    warnings: list[JobWarning] = Field(
        default_factory=list, description="what the job raised, each once, at most 20"
    )
    inline_result: InlineResult | None = Field(
        default=None, description="with ?inline=true, a small Completed job's result"
    )
    presentation: Presentation | None = Field(
        default=None, description="as the submission gave it (a client's, for clients)"
    )


class JobCreated(BaseModel):
    job_id: str
    state: JobState | None = Field(
        default=None, description="with ?wait=, the job's state at its end or the wait's"
    )


class JobList(BaseModel):
    jobs: list[JobState]


class JobError(BaseModel):
    type: str = Field(description="a lazyarray.errors class name where it is one")
    message: str
    op: str | None = None
    node: int | None = Field(
        default=None, description="the failing node's position in the document's nodes"
    )


class JobErrors(BaseModel):
    job_id: str
    errors: list[JobError]
