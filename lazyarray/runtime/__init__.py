"""What backends share to run plans and is not an op table: the block runner of fused
kernels (``kernel.py``) and their compiled block programs (``block_program.py``), and
numpy.ma's statistics reduced chunk by chunk (``masked_stats.py``). Above the planner,
below the backend layer; a backend may import it."""
