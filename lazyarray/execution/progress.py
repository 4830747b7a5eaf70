"""The tqdm adapter: the only module that imports tqdm, and only when a bar is shown."""

from __future__ import annotations

import sys
from typing import Any

from lazyarray.errors import FormatError
from lazyarray.jobs import RunContext


def in_notebook() -> bool:
    return "ipykernel" in sys.modules


def should_show(progress_bar: bool | None) -> bool:
    """``None`` means: in a notebook, when tqdm is installed."""
    if progress_bar is None:
        if not in_notebook():
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return True
    return bool(progress_bar)


class ProgressBar:
    """A tqdm bar following a ``RunContext`` (steps done / total)."""

    def __init__(self, context: RunContext, description: str = "lazyarray") -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise FormatError(
                "progress_bar=True needs tqdm: pip install 'lazyarray[progress]'"
            ) from exc
        self._bar: Any = tqdm(total=context.total_steps or None, desc=description, unit="step")
        context.add_listener(self._update)

    def _update(self, context: RunContext) -> None:
        if context.total_steps and self._bar.total != context.total_steps:
            self._bar.total = context.total_steps
        self._bar.n = context.completed_steps
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
