"""Where bytes and names are kept: content-addressed blobs (``blobs``), the one
validator of user-given names, and the readers of arrays in chunked storage
(``readers``: zarr, npy, Parquet, each importing its library when first used). The
bottom layer: it imports nothing of lazyarray but ``errors`` and ``config``."""
