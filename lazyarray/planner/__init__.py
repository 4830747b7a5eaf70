"""The planner: graph in, ``Plan`` out. Backends consume ``Plan`` values only."""

from lazyarray.planner.bind import bind_arguments
from lazyarray.planner.plan import Plan, make_plan

__all__ = ["Plan", "bind_arguments", "make_plan"]
