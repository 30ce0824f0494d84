"""GROUP BY with a time window, in Arroyo's dialect: `plan_window_aggregate`.

    SELECT auction, TUMBLE(INTERVAL '1' MINUTE) AS window, count(*) AS bids,
           window.start, window.end
    FROM bids GROUP BY auction, window            -- or GROUP BY 1, 2

The window (`TUMBLE(size)`, `HOP(slide, width)`, `SESSION(gap)`) is a grouping key like
the others; selected, it is a struct column {start, end}, and `<alias>.start` /
`<alias>.end` are its bounds. The query becomes

    [project: computed keys] -shuffle by keys-> window aggregate -> [filter: HAVING] -> project

where the window aggregate emits the key columns, `_window_start`, `_window_end`, the
struct (if selected) and one `_agg_<n>` column per distinct aggregate call, and the final
projection rewrites the select list over those columns. Aggregation without a window
(updating results) is not supported yet and says so.

The results of a windowed aggregate (a subquery or view that selects its window) can be
aggregated again by their window, as Arroyo's Nexmark q5 does:

    SELECT max(num) AS maxn, window FROM (SELECT auction, count(*) AS num,
        HOP(...) AS window FROM bids GROUP BY 1, window) GROUP BY window

Their window column is then the GROUP BY window (`WINDOW_KIND_INPUT`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from services.planner.expressions import (
    OutputColumn,
    Scope,
    column_reference,
    compile_checked,
    resolve_references,
)
from services.planner.intervals import interval_ms
from services.planner.positions import SqlText
from services.planner.window_join import WindowShape
from services.worker.engine.expressions import ExpressionError, column_name
from services.worker.engine.operators.aggregate_functions import FUNCTION_NAMES, compile_aggregates
from services.worker.engine.operators.window_aggregate import WindowAggregateOperator
from services.worker.engine.operators.window_state import END, START
from services.worker.engine.row_schema import Field, RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT
from weir.v1 import dataflow_pb2

WindowKind = dataflow_pb2.WindowAggregateSpec.WindowKind
WINDOW_FUNCTIONS = {
    "tumble": WindowKind.WINDOW_KIND_TUMBLE,
    "hop": WindowKind.WINDOW_KIND_HOP,
    "session": WindowKind.WINDOW_KIND_SESSION,
}
_AGGREGATE_TYPES: dict[type[exp.Expression], str] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Min: "min",
    exp.Max: "max",
    exp.Avg: "avg",
}
DEFAULT_WINDOW_COLUMN = "window"
# Parts of an expression that are not expressions themselves (or are constants), so never
# a GROUP BY key even when their text equals one.
_NEVER_KEYS = (exp.Identifier, exp.Var, exp.DataType, exp.Literal, exp.Star)


@dataclass(frozen=True)
class WindowAggregatePlan:
    """What the planner adds for a windowed GROUP BY (see the module docstring)."""

    pre_project: list[dataflow_pb2.NamedExpression] | None
    spec: dataflow_pb2.WindowAggregateSpec
    having: exp.Expression | None
    outputs: list[OutputColumn]
    output_scope: Scope


def is_window_call(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() in WINDOW_FUNCTIONS


def is_aggregating(select: exp.Select) -> bool:
    """Whether a SELECT groups: GROUP BY, an aggregate call, or a window in its list."""
    if select.args.get("group") or select.args.get("having"):
        return True
    return any(
        isinstance(node, exp.AggFunc) or is_window_call(node)
        for item in select.expressions
        for node in item.walk()
    )


def plan_window_aggregate(
    select: exp.Select,
    scope: Scope,
    time_column: str | None,
    text: SqlText,
    input_window: WindowShape | None = None,
) -> WindowAggregatePlan:
    """`input_window`: the rows are a windowed aggregate's, with this window (which GROUP
    BY may name as the window)."""
    return _WindowAggregatePlanner(select, scope, time_column, text, input_window).plan()


def _normalized(node: exp.Expression, scope: Scope) -> str:
    """An expression's text with column references in normal form, for comparing a select
    item with a GROUP BY expression (`T.X + 1` is `x + 1`)."""
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        for part in ("db", "table"):
            qualifier = column.args.get(part)
            if isinstance(qualifier, exp.Identifier) and column_name(qualifier) == scope.qualifier:
                column.set(part, None)
        for part in ("table", "this"):
            identifier = column.args.get(part)
            if isinstance(identifier, exp.Identifier):
                column.set(part, column_reference(column_name(identifier)).this)
    return copy.sql(dialect=SQL_DIALECT)


class _WindowAggregatePlanner:
    def __init__(
        self,
        select: exp.Select,
        scope: Scope,
        time_column: str | None,
        text: SqlText,
        input_window: WindowShape | None,
    ) -> None:
        self.select = select
        self.input_window = input_window
        # GROUP BY names the input's window column.
        self.input_grouped = False
        self.scope = scope
        self.time_column = time_column
        self.text = text
        self.items = list(select.expressions)
        self.window: exp.Anonymous | None = None
        self.window_alias: str | None = None
        self.window_selected = False
        # Normalized key expression text -> key column name, in GROUP BY order.
        self.keys: dict[str, str] = {}
        self.computed_keys: list[dataflow_pb2.NamedExpression] = []
        self.key_fields: list[Field] = []
        # (function, argument, distinct) -> aggregate column name.
        self.aggregates: dict[tuple[str, str, bool], str] = {}
        self.spec = dataflow_pb2.WindowAggregateSpec()

    def plan(self) -> WindowAggregatePlan:
        text = self.text
        group = self.select.args.get("group")
        if group is not None:
            for key in ("grouping_sets", "cube", "rollup"):
                if group.args.get(key):
                    raise text.error(f"GROUP BY {key.upper().replace('_', ' ')} is not supported", group)
            for node in group.expressions:
                self._group_key(node)
        if self.input_window is not None and self.window is None:
            if not self.input_grouped:
                raise text.error(
                    "aggregating the results of a windowed aggregate needs GROUP BY their window "
                    f"column {self.input_window.column!r}",
                    group or self.items[0],
                )
            self.window_alias = self.input_window.column
        elif self.input_window is not None:
            raise text.error(
                "the results of a windowed aggregate are aggregated again by their own window: "
                f"GROUP BY {self.input_window.column}, not a new window",
                self.window,
            )
        elif self.window is None:
            culprit = group or self.select.args.get("having") or self.items[0]
            raise text.error(
                "aggregation needs a time window in GROUP BY: TUMBLE(INTERVAL ...), "
                "HOP(INTERVAL slide, INTERVAL width) or SESSION(INTERVAL gap) "
                "(aggregates without a window are not supported yet)",
                culprit,
            )
        for item in self.items:
            if isinstance(item, exp.Alias) and (
                self._same_window(item.this) or self._is_input_window(item.this)
            ):
                self.window_alias = column_name(item.args["alias"])
        if self.window is not None:
            self._window_spec(self.window)
        else:
            assert self.input_window is not None
            self.spec.window = WindowKind.WINDOW_KIND_INPUT
            self.spec.size_ms = self.input_window.size_ms
            self.spec.input_window_column = self.input_window.column

        input_schema = RowSchema([*self.scope.schema, *self.key_fields])
        rewritten = [(self._output_name(item), self._rewrite(item), item) for item in self.items]
        having_node = self.select.args.get("having")
        having = self._rewrite(having_node.this) if having_node is not None else None

        spec = self.spec
        spec.key_columns.extend(self.keys.values())
        if self.time_column:
            if input_schema.get(self.time_column) is None:
                raise text.error(
                    f"the event time column {self.time_column!r} is not among the columns read",
                    self.window,
                )
            spec.time_column = self.time_column
        for (function, argument, distinct), name in self.aggregates.items():
            spec.aggregates.append(
                dataflow_pb2.Aggregate(
                    function=FUNCTION_NAMES[function], argument=argument, distinct=distinct, name=name
                )
            )
        if self.window_selected:
            spec.window_column = self.window_alias or DEFAULT_WINDOW_COLUMN
        operator = WindowAggregateOperator(
            dataflow_pb2.Operator(id="window", window_aggregate=spec), input_schema
        )
        output_schema = operator.output_schema
        output_scope = Scope(self.scope.table, self.scope.alias, output_schema)
        outputs = [
            OutputColumn(name, node, compile_checked(node, output_schema, text), item)
            for name, node, item in rewritten
        ]
        if having is not None:
            compile_checked(having, output_schema, text, predicate=True)
        pre_project = None
        if self.computed_keys:
            # Only the columns the aggregate reads pass through, so that nothing upstream
            # computes (or a source generates) the others.
            read = operator.columns_read(None).columns
            pre_project = [
                dataflow_pb2.NamedExpression(name=name, sql=column_reference(name).sql(dialect=SQL_DIALECT))
                for name in self.scope.schema.names
                if name in read
            ] + self.computed_keys
        return WindowAggregatePlan(pre_project, spec, having, outputs, output_scope)

    # GROUP BY

    def _group_key(self, node: exp.Expression) -> None:
        text = self.text
        target = node
        if isinstance(node, exp.Literal) and not node.is_string:
            position = int(node.this) if str(node.this).isdigit() else 0
            if not 1 <= position <= len(self.items):
                raise text.error(f"GROUP BY position {node.this} is not in the select list", node)
            item = self.items[position - 1]
            target = item.this if isinstance(item, exp.Alias) else item
            if isinstance(target, exp.Star):
                raise text.error("GROUP BY cannot refer to *", node)
        elif isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier):
            name = column_name(node.this)
            if self.scope.schema.get(name) is None:
                for item in self.items:
                    if isinstance(item, exp.Alias) and column_name(item.args["alias"]) == name:
                        target = item.this
        if self._is_input_window(target):
            if self.window is not None:
                raise text.error("GROUP BY can have only one window", node)
            self.input_grouped = True
            return
        if is_window_call(target):
            if (self.window is not None and not self._same_window(target)) or self.input_grouped:
                raise text.error("GROUP BY can have only one window", node)
            assert isinstance(target, exp.Anonymous)
            self.window = target
            return
        for inner in target.walk():
            if isinstance(inner, exp.AggFunc):
                raise text.error("an aggregate function cannot be a GROUP BY key", inner)
        normalized = _normalized(target, self.scope)
        if normalized in self.keys:
            return
        key = resolve_references(target.copy(), self.scope, text)
        compiled = compile_checked(key, self.scope.schema, text)
        if isinstance(key, exp.Column) and isinstance(key.this, exp.Identifier) and not key.table:
            name = column_name(key.this)
        else:
            name = f"_key_{len(self.keys)}"
            if self.scope.schema.get(name) is not None:
                raise text.error(f"column name {name!r} is reserved for computed GROUP BY keys", node)
            self.computed_keys.append(
                dataflow_pb2.NamedExpression(name=name, sql=key.sql(dialect=SQL_DIALECT))
            )
            self.key_fields.append(Field(name, compiled.dtype, compiled.nullable))
        self.keys[normalized] = name

    def _is_input_window(self, node: exp.Expression) -> bool:
        """Whether `node` names the input's window column."""
        if self.input_window is None or not isinstance(node, exp.Column):
            return False
        qualifier = node.args.get("table")
        return (
            isinstance(node.this, exp.Identifier)
            and column_name(node.this) == self.input_window.column
            and not node.args.get("db")
            and (
                qualifier is None
                or (isinstance(qualifier, exp.Identifier) and column_name(qualifier) == self.scope.qualifier)
            )
        )

    def _same_window(self, node: exp.Expression) -> bool:
        return self.window is not None and is_window_call(node) and node == self.window

    def _window_spec(self, window: exp.Anonymous) -> None:
        text = self.text
        function = window.name.lower()
        arguments = list(window.expressions)
        expected = 2 if function == "hop" else 1
        if len(arguments) != expected:
            usage = {
                "tumble": "TUMBLE(INTERVAL width)",
                "hop": "HOP(INTERVAL slide, INTERVAL width)",
                "session": "SESSION(INTERVAL gap)",
            }[function]
            raise text.error(f"{function.upper()} takes {expected} argument(s): {usage}", window)
        spec = self.spec
        spec.window = WINDOW_FUNCTIONS[function]
        if function == "tumble":
            spec.size_ms = interval_ms(arguments[0], text, "a tumbling window's width")
        elif function == "hop":
            spec.slide_ms = interval_ms(arguments[0], text, "a hopping window's slide")
            spec.size_ms = interval_ms(arguments[1], text, "a hopping window's width")
            if spec.size_ms % spec.slide_ms:
                raise text.error(
                    f"a hopping window's width ({spec.size_ms} ms) must be a multiple of its slide "
                    f"({spec.slide_ms} ms)",
                    arguments[1],
                )
        else:
            spec.gap_ms = interval_ms(arguments[0], text, "a session window's gap")

    # The select list and HAVING, over the window aggregate's output

    def _output_name(self, item: exp.Expression) -> str:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            raise self.text.error("SELECT * cannot be used with GROUP BY; name the columns", item)
        if isinstance(item, exp.Alias):
            return column_name(item.args["alias"])
        if isinstance(item, exp.Column) and isinstance(item.this, exp.Identifier):
            return column_name(item.this)
        return item.sql(dialect=SQL_DIALECT)

    def _rewrite(self, item: exp.Expression) -> exp.Expression:
        """The item over the window aggregate's output columns."""
        node = item.this if isinstance(item, exp.Alias) else item
        rewritten = node.transform(self._replace)
        # Every reference to a key, an aggregate or the window was replaced by one to an
        # output column of the window aggregate; any other refers to the input rows.
        for column in rewritten.find_all(exp.Column):
            if not column.meta.get("weir_output"):
                raise self.text.error(
                    f"column {column.sql(dialect=SQL_DIALECT)!r} must appear in GROUP BY "
                    "or be used in an aggregate function",
                    column,
                )
        return rewritten

    def _output_column(self, name: str) -> exp.Column:
        column = column_reference(name)
        column.meta["weir_output"] = True
        return column

    def _replace(self, node: exp.Expression) -> exp.Expression:
        text = self.text
        if is_window_call(node):
            if not self._same_window(node):
                raise text.error("a window function must also be in GROUP BY", node)
            self.window_selected = True
            return self._output_column(self.window_alias or DEFAULT_WINDOW_COLUMN)
        if self.input_grouped and self._is_input_window(node):
            self.window_selected = True
            return self._output_column(self.window_alias or DEFAULT_WINDOW_COLUMN)
        if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
            qualifier = node.args.get("table")
            if (
                isinstance(qualifier, exp.Identifier)
                and self.window_alias is not None
                and column_name(qualifier) == self.window_alias
            ):
                bound = column_name(node.this)
                if bound not in ("start", "end"):
                    raise text.error(f"a window has fields start and end, not {bound!r}", node)
                return self._output_column(START if bound == "start" else END)
            if (
                qualifier is None
                and self.window_alias is not None
                and column_name(node.this) == self.window_alias
                and self.scope.schema.get(self.window_alias) is None
            ):
                self.window_selected = True
                return self._output_column(self.window_alias)
        if isinstance(node, exp.AggFunc):
            return self._output_column(self._aggregate(node))
        key = None
        if not isinstance(node, _NEVER_KEYS):
            key = self.keys.get(_normalized(node, self.scope))
        if key is not None:
            return self._output_column(key)
        return node

    def _aggregate(self, node: exp.AggFunc) -> str:
        text = self.text
        function = _AGGREGATE_TYPES.get(type(node))
        if function is None:
            raise text.error(
                f"aggregate function {node.sql_name()} is not supported yet "
                "(supported: count, sum, min, max, avg)",
                node,
            )
        argument_node = node.this
        distinct = False
        if isinstance(argument_node, exp.Distinct):
            if len(argument_node.expressions) != 1:
                raise text.error(f"{function}(DISTINCT ...) takes one argument", node)
            distinct = True
            argument_node = argument_node.expressions[0]
        if node.expressions:
            raise text.error(f"{function} takes one argument", node)
        argument = ""
        if isinstance(argument_node, exp.Star):
            if function != "count" or distinct:
                raise text.error(f"{function}(*) is not valid; only count(*) is", node)
        elif argument_node is None:
            raise text.error(f"{function} needs an argument", node)
        else:
            for inner in argument_node.walk():
                if isinstance(inner, exp.AggFunc) or is_window_call(inner):
                    raise text.error("aggregate functions cannot be nested", inner)
            resolved = resolve_references(argument_node.copy(), self.scope, text)
            compile_checked(resolved, self.scope.schema, text)
            argument = resolved.sql(dialect=SQL_DIALECT)
        identity = (function, argument, distinct)
        name = self.aggregates.get(identity)
        if name is None:
            name = f"_agg_{len(self.aggregates)}"
            aggregate = dataflow_pb2.Aggregate(
                function=FUNCTION_NAMES[function], argument=argument, distinct=distinct, name=name
            )
            try:
                compile_aggregates([aggregate], self.scope.schema)
            except ExpressionError as error:
                raise text.error(error.message, node) from None
            self.aggregates[identity] = name
        return name
