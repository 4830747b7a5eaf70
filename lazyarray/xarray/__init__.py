"""lazyarray as an xarray chunked array type (after cubed-xarray): the chunk manager
registered in the ``xarray.chunkmanagers`` entry-point group as ``lazyarray``, so that
``ds.chunk(chunked_array_type="lazyarray")`` and
``xr.open_zarr(path, chunked_array_type="lazyarray", chunks={})`` give lazy variables.
Needs ``pip install 'lazyarray[xarray]'``; ``import lazyarray`` never loads it.
"""

from lazyarray.xarray.manager import LazyArrayChunkManager

__all__ = ["LazyArrayChunkManager"]
