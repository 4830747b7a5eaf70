"""The conformance suite's parts, by what they test; ``lazyarray.testing.conformance``
gathers them."""
