"""Where bytes and names are kept: content-addressed blobs (``blobs``) and the one
validator of user-given names. The bottom layer: it imports nothing of lazyarray but
``errors`` and ``config``."""
