"""The array object's part of the array API standard, attached to the proxies:
``device``, ``to_device``, ``__array_namespace__``, DLPack export and assignment.

There is one device, the host: every backend, dask's workers included, hands results
back as numpy arrays in this process's memory.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np

from lazyarray.errors import ExportError, OpValueError
from lazyarray.proxy.base import BaseArray, wrap
from lazyarray.proxy.setitem import setitem

API_VERSION = "2025.12"
# the revisions ``__array_namespace__`` answers: each is a subset of the latest
API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12", API_VERSION)


class Device(str):
    """lazyarray's one device, the host. A ``str`` equal to ``"cpu"``, so it is what
    numpy's arrays call their device, and numpy takes it as ``device=``.

    >>> import lazyarray as la
    >>> la.zeros(3).device
    Device('cpu')
    >>> la.zeros(3).device == "cpu"
    True
    """

    __slots__ = ()

    def __new__(cls, name: str = "cpu") -> Device:
        check_device(name)
        return super().__new__(cls, name)

    def __repr__(self) -> str:
        return "Device('cpu')"


def check_device(device: Any) -> None:
    """Refuses any device but the host (``None`` means the default: the host)."""
    if device is not None and not (isinstance(device, str) and device == "cpu"):
        raise OpValueError(f"Unsupported device {device!r}; lazyarray has one device, 'cpu'")


CPU = Device()

_NO_STREAMS = "the host device has no streams; stream must be None"

# (kDLCPU, 0): where every computed value lives, known without computing
_HOST = np.empty(0).__dlpack_device__()


def _device(self: BaseArray) -> Device:
    return CPU


def _to_device(self: BaseArray, device: Any, /, *, stream: Any = None) -> Any:
    """A new handle on the same node: the data is on the one device already."""
    if device is None:
        raise OpValueError("to_device() needs a device; lazyarray has one device, 'cpu'")
    check_device(device)
    if stream is not None:
        raise OpValueError(_NO_STREAMS)
    return wrap(self._node)


def _array_namespace(self: BaseArray, /, *, api_version: str | None = None) -> ModuleType:
    """The ``lazyarray`` module, which is the namespace of every revision it answers."""
    if api_version is not None and api_version not in API_VERSIONS:
        raise OpValueError(f'Version "{api_version}" of the Array API Standard is not supported.')
    return sys.modules["lazyarray"]


def _dlpack(
    self: BaseArray,
    /,
    *,
    stream: Any = None,
    max_version: tuple[int, int] | None = None,
    dl_device: Any = None,
    copy: bool | None = None,
) -> Any:
    """Computes, then exports the numpy result (numpy's ``__dlpack__`` checks the
    other keywords, in its words)."""
    if stream is not None:
        raise OpValueError(_NO_STREAMS)
    if self._node.type.masked:
        raise ExportError(
            "a masked array cannot be exported through DLPack, which carries no mask; "
            "export x.filled() or x.data"
        )
    value = np.asarray(self._implicit("x.__dlpack__()"))
    if not value.flags.writeable and max_version is None and copy is not False:
        value = value.copy()  # a consumer before DLPack 1.0 cannot be told it is read-only
    return value.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)


def _dlpack_device(self: BaseArray) -> Any:
    return _HOST


def _setitem(self: BaseArray, key: Any, value: Any, /) -> None:
    """Points this handle at a new node; the old node and its other handles stay."""
    self._node = setitem(self._node, key, value)


_STANDARD: dict[str, Any] = {
    "device": property(_device),
    "to_device": _to_device,
    "__array_namespace__": _array_namespace,
    "__dlpack__": _dlpack,
    "__dlpack_device__": _dlpack_device,
    "__setitem__": _setitem,
}


def attach() -> None:
    for name, attribute in _STANDARD.items():
        setattr(BaseArray, name, attribute)
