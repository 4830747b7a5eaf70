"""The planner: graph in, optimized ``Plan`` out. Backends consume ``Plan`` values only."""

from lazyarray.planner.bind import bind_arguments
from lazyarray.planner.plan import Plan, direct_plan, make_plan, parameters_of

__all__ = ["Plan", "bind_arguments", "direct_plan", "make_plan", "parameters_of"]
