"""``lazyarray.lib``: numpy's ``lib`` submodules that array code reaches through a
namespace (xarray's ``rolling`` calls ``xp.lib.stride_tricks.sliding_window_view``)."""

from lazyarray.lib import stride_tricks

__all__ = ["stride_tricks"]
