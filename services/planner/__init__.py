"""The planner: SQL (sqlglot) to the Dataflow proto, and operator chaining into tasks."""

from services.planner.chaining import Chain, chain_operators
from services.planner.errors import PlanError
from services.planner.plan import plan_query

__all__ = ["Chain", "PlanError", "chain_operators", "plan_query"]
