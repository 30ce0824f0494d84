"""From the query text to the Dataflow: `plan_query`.

A query is a sequence of statements: `CREATE TABLE ... WITH (connector = ...)` declares
tables, `CREATE VIEW name AS SELECT ...` names a query (planned again wherever it is
read, as subqueries in FROM are); each `SELECT` (its rows go to a preview sink, for
`GET /jobs/{id}/output`) or `INSERT INTO <table> SELECT ...` becomes a pipeline:

    source -> [watermark, if the table has event time] -> [filter, if WHERE]
      -> [windowed GROUP BY: see aggregation.py] -> [project, unless the same columns] -> sink

`UNION ALL` projects its branches to common columns and joins them in a union operator;
`A JOIN B ON A.k = B.k AND A.window = B.window` of two windowed aggregates is a window
join (window_join.py), both sides shuffled by their keys into the join operator;
all INSERTs into one table feed its one sink operator. Operators get the job's
parallelism (a window without GROUP BY keys gets one subtask) and are joined by forward
edges, except the key-by shuffle before a window aggregate; chaining.py decides which run
together in one task. Expressions are stored as normalized SQL text; workers compile them
with the same compiler the planner checked them with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl
from sqlglot import exp

from services.paths import PathPolicy
from services.planner.aggregation import is_aggregating, plan_window_aggregate
from services.planner.catalog import Catalog, TableDef
from services.planner.dataflow_builder import DataflowBuilder, Kind
from services.planner.errors import PlanError
from services.planner.expressions import (
    OutputColumn,
    Scope,
    column_reference,
    compile_checked,
    resolve_references,
    select_outputs,
)
from services.planner.positions import SqlText
from services.planner.sql import parse_statements
from services.planner.window_join import (
    LEFT_MARKER,
    JoinSide,
    WindowKind,
    WindowShape,
    join_condition,
    qualify_join_columns,
)
from services.worker.engine.expressions import column_name
from services.worker.engine.operators.preview_sink import PreviewSink
from services.worker.engine.operators.union import UnionOperator
from services.worker.engine.operators.window_aggregate import WindowAggregateOperator
from services.worker.engine.operators.window_join import WindowJoinOperator
from services.worker.engine.operators.window_watermark import WatermarkOperator
from services.worker.engine.row_schema import Field, RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT
from services.worker.engine.sql_types import sql_type_name
from weir.v1 import dataflow_pb2

MAX_QUERY_CHARS = 1_000_000

# What can be planned as a query: a SELECT, or SELECTs combined with UNION ALL.
Query = exp.Select | exp.Union

# SELECT clauses not supported yet, by sqlglot argument name, as the user wrote them.
_CLAUSES = {
    "distinct": "DISTINCT",
    "laterals": "LATERAL",
    "qualify": "QUALIFY",
    "windows": "WINDOW",
    "order": "ORDER BY",
    "sort": "SORT BY",
    "limit": "LIMIT",
    "offset": "OFFSET",
    "with_": "WITH (common table expressions)",
    "into": "SELECT INTO",
    "pivots": "PIVOT",
}
_SUPPORTED_SELECT_ARGS = {"expressions", "from_", "where", "joins"}
_AGGREGATE_SELECT_ARGS = {"group", "having"}


def plan_query(query: str, parallelism: int, paths: PathPolicy) -> dataflow_pb2.Dataflow:
    """Plan a query into a dataflow with `parallelism` subtasks per operator.

    Raises PlanError (message, 1-based line and column, 0 if unknown) for invalid or
    unsupported SQL.
    """
    if parallelism < 1:
        raise PlanError(f"parallelism must be at least 1, not {parallelism}")
    if len(query) > MAX_QUERY_CHARS:
        raise PlanError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    text = SqlText(query)
    statements = parse_statements(text)
    if not statements:
        raise PlanError("the query is empty")
    planner = _Planner(text, Catalog(text, paths), DataflowBuilder(parallelism))
    try:
        for statement in statements:
            planner.statement(statement)
    except RecursionError:
        # The parser and the expression compiler have their own; planning recurses too, e.g.
        # into the branches of a long UNION ALL.
        raise PlanError("the query is too deeply nested") from None
    if not planner.queries:
        raise text.error(
            "the query declares tables but reads none: add a SELECT, or INSERT INTO <table> SELECT ...",
            statements[-1],
        )
    return planner.builder.dataflow


@dataclass(frozen=True)
class _Relation:
    """What a FROM clause reads: the operator producing its rows, their scope, and their
    event time column (None: processing time). `windowed`: the rows are results of a
    windowed aggregate, which have no event time of their own (yet); `window`: their
    window and the column holding it, if they have one (what a window join joins on)."""

    upstream: str
    scope: Scope
    time_column: str | None
    windowed: bool = False
    window: WindowShape | None = None


class _Planner:
    def __init__(
        self,
        text: SqlText,
        catalog: Catalog,
        builder: DataflowBuilder,
        views: dict[str, Query] | None = None,
    ) -> None:
        self.text = text
        self.catalog = catalog
        self.builder = builder
        self.queries = 0
        # CREATE VIEW name AS SELECT ...: planned again (inlined) wherever it is read.
        self.views: dict[str, Query] = {} if views is None else views
        # Table name -> its sink operator and the columns written to it.
        self.sinks: dict[str, tuple[str, RowSchema]] = {}
        # Table name -> the operator its rows come from (its source, or the watermark after
        # it) and their event time column, for the statement being planned: a table read
        # twice by one query (a self-join, a UNION ALL) is read once and feeds every
        # reader, while separate statements stay separate pipelines.
        self.sources: dict[str, tuple[str, str | None]] = {}
        # The same, for subqueries and views: one read twice in a statement (Nexmark q5
        # counts bids per auction for both sides of its join) is computed once.
        self.derived: dict[str, _Relation] = {}

    def statement(self, statement: exp.Expression) -> None:
        if isinstance(statement, exp.Create) and str(statement.args.get("kind") or "").upper() == "VIEW":
            self._view(statement)
        elif isinstance(statement, exp.Create):
            name = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
            if (
                isinstance(name, exp.Table)
                and isinstance(name.this, exp.Identifier)
                and column_name(name.this) in self.views
            ):
                raise self.text.error(f"{column_name(name.this)!r} is already defined as a view", name)
            self.catalog.define(statement)
        elif isinstance(statement, exp.Insert):
            self._new_pipeline()
            self._insert(statement)
        elif isinstance(statement, exp.Select | exp.Union):
            self._new_pipeline()
            self._select(statement, sink=None)
        else:
            raise self.text.error(_unsupported_statement(statement), statement)

    def _new_pipeline(self) -> None:
        """Each statement reads its tables and computes its subqueries anew."""
        self.sources.clear()
        self.derived.clear()

    def _view(self, statement: exp.Create) -> None:
        text = self.text
        target = statement.this
        if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
            raise text.error(
                "expected a view name after CREATE VIEW (column lists are not supported)", statement
            )
        if target.args.get("db") or target.args.get("catalog"):
            raise text.error(
                f"qualified view names are not supported: {target.sql(dialect=SQL_DIALECT)}", target
            )
        name = column_name(target.this)
        if name in self.views or self.catalog.defines(name):
            raise text.error(f"{name!r} is already defined", target)
        query = statement.args.get("expression")
        if not isinstance(query, exp.Select | exp.Union):
            raise text.error("CREATE VIEW needs AS SELECT ...", query or statement)
        # Plan it once now, into a scratch dataflow, so that a broken view is reported
        # where it is defined even if nothing reads it.
        scratch = _Planner(text, self.catalog, DataflowBuilder(self.builder.parallelism), self.views)
        scratch._query(query.copy())
        self.views[name] = query

    def _insert(self, statement: exp.Insert) -> None:
        text = self.text
        for key in (
            "with_",
            "overwrite",
            "conflict",
            "returning",
            "where",
            "partition",
            "alternative",
            "by_name",
        ):
            if statement.args.get(key):
                raise text.error(f"INSERT with {key.rstrip('_').upper()} is not supported", statement)
        target = statement.this
        if isinstance(target, exp.Schema):
            raise text.error(
                "INSERT INTO with a column list is not supported yet; select the columns in order", target
            )
        if not isinstance(target, exp.Table):
            raise text.error("expected a table name after INSERT INTO", statement)
        table = self.catalog.lookup(target)
        if not table.connector.writable:
            raise text.error(
                f"table {table.name!r} (connector {table.connector.name!r}) cannot be written to", target
            )
        query = statement.expression
        if not isinstance(query, exp.Select | exp.Union):
            raise text.error("INSERT INTO needs a SELECT", query or statement)
        self._select(query, sink=table)

    def _select(self, select: Query, sink: TableDef | None) -> None:
        """A whole query: its operators, then a sink (the preview sink for a bare SELECT).
        All INSERTs into one table feed one sink operator, so that the table is written
        (and, for transactional sinks, committed) by one writer per subtask."""
        builder = self.builder
        relation, outputs = self._query(select)
        if sink is not None:
            outputs = self._fit_to_sink(outputs, sink, relation.scope, select)
        upstream = self._project(relation, outputs)
        parallelism = builder.parallelism_of(upstream)
        schema = RowSchema(Field(o.name, o.compiled.dtype, o.compiled.nullable) for o in outputs)
        if sink is not None and sink.name in self.sinks:
            sink_id, first_schema = self.sinks[sink.name]
            if [(f.name, f.dtype) for f in schema] != [(f.name, f.dtype) for f in first_schema]:
                raise self.text.error(
                    f"every INSERT INTO {sink.name} must produce the same columns: "
                    f"{first_schema!r} and {schema!r}",
                    select,
                )
            if builder.parallelism_of(sink_id) != parallelism:
                raise self.text.error(
                    f"INSERTs into {sink.name} from an aggregate without GROUP BY keys (one subtask) "
                    "and from another query are not supported yet",
                    select,
                )
            builder.connect(upstream, sink_id)
            self.queries += 1
            return
        if sink is None:
            sink_spec = dataflow_pb2.SinkSpec(connector=PreviewSink.connector)
            sink_name = PreviewSink.operator_name
        else:
            assert sink.connector.sink is not None
            sink_spec = dataflow_pb2.SinkSpec(connector=sink.connector.name, options=sink.options)
            sink_name = sink.connector.sink.operator_name
        sink_id = builder.add("sink", sink_name, Kind.KIND_SINK, parallelism, sink=sink_spec)
        builder.connect(upstream, sink_id)
        if sink is not None:
            self.sinks[sink.name] = (sink_id, schema)
        self.queries += 1

    def _query(self, select: Query) -> tuple[_Relation, list[OutputColumn]]:
        """Plan a SELECT up to its select list: returns the relation the list is computed
        over (after WHERE, and GROUP BY if any) and the list's columns over it."""
        text = self.text
        if isinstance(select, exp.Union):
            return self._union(select)
        aggregating = is_aggregating(select)
        supported = _SUPPORTED_SELECT_ARGS | (_AGGREGATE_SELECT_ARGS if aggregating else set())
        for key, value in select.args.items():
            if key not in supported and value not in (None, False, []):
                clause = _CLAUSES.get(key, key.rstrip("_").upper())
                node = value[0] if isinstance(value, list) else value
                raise text.error(
                    f"{clause} is not supported yet",
                    node if isinstance(node, exp.Expression) else None,
                    fallback=select,
                )
        from_ = select.args.get("from_")
        if from_ is None:
            raise text.error("SELECT needs a FROM clause naming a table", select)
        joins = select.args.get("joins") or []
        if len(joins) > 1:
            raise text.error("a query can join two inputs; nest subqueries to join more", joins[1])
        relation = self._join(from_.this, joins[0], select) if joins else self._from(from_.this)
        where = select.args.get("where")
        if where is not None:
            predicate = resolve_references(where.this, relation.scope, text)
            compile_checked(predicate, relation.scope.schema, text, predicate=True)
            relation = replace(relation, upstream=self._filter(relation.upstream, predicate))
        if not aggregating:
            return relation, select_outputs(list(select.expressions), relation.scope, text)
        if relation.windowed and (
            relation.window is None or relation.window.kind == WindowKind.WINDOW_KIND_SESSION
        ):
            raise text.error(
                "aggregating the results of a windowed aggregate is only supported by their tumbling "
                "or hopping window (select the window in the subquery, then GROUP BY it)",
                select.expressions[0],
            )
        return self._window_aggregate(select, relation)

    def _from(self, node: exp.Expression) -> _Relation:
        """The relation a FROM clause names: a table, a view, or a subquery."""
        text = self.text
        alias_node = node.args.get("alias")
        alias = column_name(alias_node.this) if alias_node is not None and alias_node.this else None
        if isinstance(node, exp.Subquery):
            if not isinstance(node.this, exp.Select | exp.Union):
                raise text.error("only a SELECT can be a subquery", node.this)
            return self._derived(node.this, alias or "subquery", None)
        if not isinstance(node, exp.Table):
            raise text.error("only a table, a view or a subquery can follow FROM", node)
        if isinstance(node.this, exp.Identifier) and not node.args.get("db"):
            view = self.views.get(column_name(node.this))
            if view is not None:
                return self._derived(view.copy(), column_name(node.this), alias)
        table = self.catalog.lookup(node)
        if table.schema is None:
            raise text.error(
                f"table {table.name!r} (connector {table.connector.name!r}) cannot be read", node
            )
        read = self.sources.get(table.name)
        if read is not None:
            return _Relation(read[0], Scope(table.name, alias, table.schema), read[1])
        builder = self.builder
        assert table.connector.source is not None
        upstream = builder.add(
            "source",
            table.connector.source.operator_name,
            Kind.KIND_SOURCE,
            source=dataflow_pb2.SourceSpec(
                connector=table.connector.name, options=table.options, schema=table.schema.to_columns()
            ),
        )
        if table.event_time is not None:
            watermark_id = builder.add(
                "watermark",
                WatermarkOperator.operator_name,
                Kind.KIND_TRANSFORM,
                watermark=dataflow_pb2.WatermarkSpec(
                    time_column=table.event_time.column, delay_ms=table.event_time.delay_ms
                ),
            )
            builder.connect(upstream, watermark_id)
            upstream = watermark_id
        time_column = table.event_time.column if table.event_time else None
        self.sources[table.name] = (upstream, time_column)
        return _Relation(upstream, Scope(table.name, alias, table.schema), time_column)

    def _derived(self, select: Query, name: str, alias: str | None) -> _Relation:
        """A view or subquery as a relation: its query's output columns."""
        key = select.sql(dialect=SQL_DIALECT)
        known = self.derived.get(key)
        if known is not None:
            return replace(known, scope=Scope(name, alias, known.scope.schema))
        relation = self._derived_anew(select, name, alias)
        self.derived[key] = relation
        return relation

    def _derived_anew(self, select: Query, name: str, alias: str | None) -> _Relation:
        inner, outputs = self._query(select)
        upstream = self._project(inner, outputs)
        schema = RowSchema(Field(o.name, o.compiled.dtype, o.compiled.nullable) for o in outputs)
        window = None
        if inner.window is not None:
            window_column = _passed_column(inner.window.column, outputs)
            if window_column is not None:
                window = replace(inner.window, column=window_column)
        return _Relation(
            upstream,
            Scope(name, alias, schema),
            _passed_time_column(inner, outputs),
            inner.windowed,
            window,
        )

    def _join(self, left_node: exp.Expression, join: exp.Join, select: exp.Select) -> _Relation:
        """`left JOIN right ON ...`, as a window join (see window_join.py): both sides
        shuffled by their join keys into the join operator, the left side first projected
        with its marker column. The select list and WHERE of `select` are rewritten to
        refer to the join's output columns."""
        text = self.text
        for key in ("side", "method"):
            if join.args.get(key):
                side = str(join.args[key]).upper()
                raise text.error(
                    f"{side} joins are not supported; a window join is an inner JOIN ... ON", join
                )
        if join.args.get("using") or join.args.get("match_condition"):
            raise text.error("only JOIN ... ON is supported: ON A.x = B.x AND A.window = B.window", join)
        kind = str(join.args.get("kind") or "").upper()
        if kind not in ("", "INNER"):
            raise text.error(f"{kind} JOIN is not supported; a window join is an inner JOIN ... ON", join)
        on = join.args.get("on")
        if on is None:
            raise text.error("a join needs ON ... with its windows equal (A.window = B.window)", join)
        sides = []
        for node in (left_node, join.this):
            relation = self._from(node)
            if relation.window is None or relation.window.kind == WindowKind.WINDOW_KIND_SESSION:
                raise text.error(
                    "only window joins are supported: each side must be a windowed aggregate that "
                    "selects its tumbling or hopping window (SELECT ..., TUMBLE(...) AS window ... "
                    "GROUP BY ...)",
                    node,
                )
            sides.append((relation, node))
        (left_relation, left_node), (right_relation, right_node) = sides
        joined = []
        for relation, node in sides:
            assert relation.window is not None
            if relation.scope.schema.get(LEFT_MARKER) is not None:
                raise text.error(f"the column name {LEFT_MARKER!r} is reserved for window joins", node)
            joined.append(JoinSide(relation.scope.qualifier, relation.scope.schema, relation.window))
        left, right = joined
        if left.qualifier == right.qualifier:
            raise text.error(
                f"both sides of the join are named {left.qualifier!r}; give them different aliases",
                right_node.args.get("alias") or right_node,
            )
        if not left.window.same_windows(right.window):
            raise text.error(
                f"a window join needs the same window on both sides, not {left.window.describe()} and "
                f"{right.window.describe()}",
                on,
            )
        if left.window.event_time != right.window.event_time:
            raise text.error("a window join needs both sides in event time or both in processing time", on)
        condition = join_condition(on, left, right, text)
        builder = self.builder
        marked = [
            OutputColumn(
                f.name,
                column_reference(f.name),
                compile_checked(column_reference(f.name), left.schema, text),
                on,
            )
            for f in left.schema
        ]
        marker = exp.Boolean(this=True)
        marked.append(OutputColumn(LEFT_MARKER, marker, compile_checked(marker, left.schema, text), on))
        left_upstream = self._project(left_relation, marked)
        marked_schema = RowSchema(Field(o.name, o.compiled.dtype, o.compiled.nullable) for o in marked)
        spec = dataflow_pb2.WindowJoinSpec(
            left_schema=marked_schema.to_columns(),
            right_schema=right.schema.to_columns(),
            left_keys=condition.left_keys,
            right_keys=condition.right_keys,
            left_window_column=left.window.column,
            right_window_column=right.window.column,
            left_qualifier=left.qualifier,
            right_qualifier=right.qualifier,
            side_column=LEFT_MARKER,
        )
        # Without keys every row of a window meets every other, so one subtask holds them.
        join_id = builder.add(
            "join",
            WindowJoinOperator.operator_name,
            Kind.KIND_TRANSFORM,
            None if condition.left_keys else 1,
            window_join=spec,
        )
        # Routed by keys and window: a join key alone can be skewed (q5 joins on counts,
        # mostly 1), while every window has its own rows.
        builder.shuffle(left_upstream, join_id, [*condition.left_keys, left.window.column])
        builder.shuffle(right_relation.upstream, join_id, [*condition.right_keys, right.window.column])
        operator = dataflow_pb2.Operator(id=join_id, window_join=spec)
        schema = WindowJoinOperator(operator, marked_schema).output_schema
        select.set(
            "expressions", [qualify_join_columns(item, left, right, text) for item in select.expressions]
        )
        where = select.args.get("where")
        if where is not None:
            where.set("this", qualify_join_columns(where.this, left, right, text))
        window = replace(left.window, column=left.output_name(left.window.column))
        return _Relation(join_id, Scope("join", None, schema), None, windowed=True, window=window)

    def _union(self, union: exp.Union) -> tuple[_Relation, list[OutputColumn]]:
        """UNION ALL: each branch projected to the first branch's column names and to
        common column types, all feeding one union operator."""
        text = self.text
        branches = _union_branches(union, text)
        planned = [self._query(branch) for branch in branches]
        first = planned[0][1]
        for branch, (_, outputs) in zip(branches[1:], planned[1:], strict=True):
            if len(outputs) != len(first):
                raise text.error(
                    f"each side of UNION ALL must produce the same number of columns: "
                    f"{_columns(len(first))} and {_columns(len(outputs))}",
                    branch,
                )
        types: list[pl.DataType] = []
        for index, column in enumerate(first):
            dtypes = [outputs[index].compiled.dtype for _, outputs in planned]
            if all(dtype == column.compiled.dtype for dtype in dtypes):
                types.append(column.compiled.dtype)
            elif all(dtype.is_numeric() for dtype in dtypes):
                probes = [pl.DataFrame(schema={"c": dtype}) for dtype in dtypes]
                types.append(pl.concat(probes, how="vertical_relaxed").schema["c"])
            else:
                names = " and ".join(sorted({sql_type_name(dtype) for dtype in dtypes}))
                raise text.error(
                    f"column {column.name!r} has different types on the sides of UNION ALL "
                    f"({names}); use CAST",
                    column.item,
                )
        builder = self.builder
        upstreams = []
        for relation, outputs in planned:
            aligned = []
            for output, target, dtype in zip(outputs, first, types, strict=True):
                node = output.node
                if output.compiled.dtype != dtype:
                    node = exp.Cast(
                        this=node, to=exp.DataType.build(sql_type_name(dtype), dialect=SQL_DIALECT)
                    )
                compiled = compile_checked(node, relation.scope.schema, text)
                aligned.append(OutputColumn(target.name, node, compiled, output.item))
            # Two branches reading one table unchanged must still be two edges into the union.
            repeated = relation.upstream in {upstream for upstream, _ in upstreams}
            upstreams.append(
                (self._project(relation, aligned, always=repeated), _passed_time_column(relation, aligned))
            )
        parallelisms = {builder.parallelism_of(upstream) for upstream, _ in upstreams}
        if len(parallelisms) > 1:
            raise text.error(
                "UNION ALL of an aggregate without GROUP BY keys (one subtask) and another query "
                "is not supported yet",
                union,
            )
        union_id = builder.add(
            "union",
            UnionOperator.operator_name,
            Kind.KIND_TRANSFORM,
            parallelisms.pop(),
            union=dataflow_pb2.UnionSpec(),
        )
        for upstream, _ in upstreams:
            builder.connect(upstream, union_id)
        times = {time_column for _, time_column in upstreams}
        schema = RowSchema(
            Field(column.name, dtype, any(outputs[i].compiled.nullable for _, outputs in planned))
            for i, (column, dtype) in enumerate(zip(first, types, strict=True))
        )
        relation = _Relation(
            union_id,
            Scope("union", None, schema),
            times.pop() if len(times) == 1 else None,
            any(relation.windowed for relation, _ in planned),
        )
        outputs = [
            OutputColumn(
                f.name,
                column_reference(f.name),
                compile_checked(column_reference(f.name), schema, text),
                c.item,
            )
            for f, c in zip(schema, first, strict=True)
        ]
        return relation, outputs

    def _project(self, relation: _Relation, outputs: list[OutputColumn], always: bool = False) -> str:
        """Compute `outputs` after `relation` (nothing to do if they are its columns,
        unless `always`)."""
        if not always and _is_identity(outputs, relation.scope.schema):
            return relation.upstream
        builder = self.builder
        project_id = builder.add(
            "project",
            "Project",
            Kind.KIND_TRANSFORM,
            builder.parallelism_of(relation.upstream),
            project=dataflow_pb2.ProjectSpec(
                columns=[dataflow_pb2.NamedExpression(name=o.name, sql=o.sql) for o in outputs]
            ),
        )
        builder.connect(relation.upstream, project_id)
        return project_id

    def _filter(self, upstream: str, predicate: exp.Expression) -> str:
        builder = self.builder
        filter_id = builder.add(
            "filter",
            "Filter",
            Kind.KIND_TRANSFORM,
            builder.parallelism_of(upstream),
            filter=dataflow_pb2.FilterSpec(predicate=predicate.sql(dialect=SQL_DIALECT)),
        )
        builder.connect(upstream, filter_id)
        return filter_id

    def _window_aggregate(
        self, select: exp.Select, relation: _Relation
    ) -> tuple[_Relation, list[OutputColumn]]:
        """Plan a windowed GROUP BY after `relation`; returns the relation of the window's
        output and the select list over it."""
        builder = self.builder
        plan = plan_window_aggregate(select, relation.scope, relation.time_column, self.text, relation.window)
        upstream = relation.upstream
        if plan.pre_project is not None:
            keys_id = builder.add(
                "project",
                "Project",
                Kind.KIND_TRANSFORM,
                builder.parallelism_of(upstream),
                project=dataflow_pb2.ProjectSpec(columns=plan.pre_project),
            )
            builder.connect(upstream, keys_id)
            upstream = keys_id
        # Without keys every row belongs to one group, which one subtask must hold.
        window_id = builder.add(
            "window",
            WindowAggregateOperator.operator_name,
            Kind.KIND_TRANSFORM,
            None if plan.spec.key_columns else 1,
            window_aggregate=plan.spec,
        )
        builder.shuffle(upstream, window_id, list(plan.spec.key_columns))
        upstream = window_id
        if plan.having is not None:
            upstream = self._filter(upstream, plan.having)
        return (
            _Relation(
                upstream, plan.output_scope, None, windowed=True, window=_window_after(plan.spec, relation)
            ),
            plan.outputs,
        )

    def _fit_to_sink(
        self, outputs: list[OutputColumn], sink: TableDef, scope: Scope, select: exp.Select
    ) -> list[OutputColumn]:
        """Name the outputs after the sink's declared columns (by position, as INSERT does)
        and cast them where SQL would implicitly (numbers to the column's number type)."""
        declared = sink.declared
        if declared is None:
            return outputs
        text = self.text
        if len(outputs) != len(declared):
            raise text.error(
                f"table {sink.name!r} has {_columns(len(declared))} "
                f"but the query produces {_columns(len(outputs))}",
                select.expressions[0] if select.expressions else select,
            )
        fitted = []
        for output, target in zip(outputs, declared.fields, strict=True):
            node = output.node
            dtype = output.compiled.dtype
            if dtype != target.dtype:
                if not (dtype.is_numeric() and target.dtype.is_numeric()) and not isinstance(dtype, pl.Null):
                    raise text.error(
                        f"column {target.name!r} of table {sink.name!r} is {sql_type_name(target.dtype)}, "
                        f"but the query produces {sql_type_name(dtype)} for it; use CAST",
                        output.item,
                    )
                node = exp.Cast(
                    this=node, to=exp.DataType.build(sql_type_name(target.dtype), dialect=SQL_DIALECT)
                )
            fitted.append(
                OutputColumn(target.name, node, compile_checked(node, scope.schema, text), output.item)
            )
        return fitted


def _window_after(spec: dataflow_pb2.WindowAggregateSpec, relation: _Relation) -> WindowShape | None:
    """The window of a window aggregate's output: its own, or the input's it grouped by."""
    if not spec.window_column:
        return None
    if spec.window == WindowKind.WINDOW_KIND_INPUT and relation.window is not None:
        return replace(relation.window, column=spec.window_column)
    return WindowShape.of(spec)


def _is_identity(outputs: list[OutputColumn], schema: RowSchema) -> bool:
    """Whether the outputs are exactly the input columns, in order (no project needed)."""
    if [o.name for o in outputs] != list(schema.names):
        return False
    return all(
        isinstance(o.node, exp.Column)
        and isinstance(o.node.this, exp.Identifier)
        and column_name(o.node.this) == o.name
        for o in outputs
    )


def _passed_time_column(relation: _Relation, outputs: list[OutputColumn]) -> str | None:
    """The name under which `outputs` pass on the relation's event time column unchanged
    (event time carries through views, subqueries and unions), or None."""
    if relation.time_column is None:
        return None
    return _passed_column(relation.time_column, outputs)


def _passed_column(name: str, outputs: list[OutputColumn]) -> str | None:
    """The name under which `outputs` pass on the column `name` unchanged, or None."""
    for output in outputs:
        node = output.node
        if (
            isinstance(node, exp.Column)
            and isinstance(node.this, exp.Identifier)
            and not node.table
            and column_name(node.this) == name
        ):
            return output.name
    return None


def _union_branches(union: exp.Union, text: SqlText) -> list[exp.Select]:
    """The SELECTs of a chain of UNION ALLs, left to right."""
    if union.args.get("distinct"):
        raise text.error("UNION without ALL (removing duplicates) is not supported yet; use UNION ALL", union)
    for key in ("by_name", "side", "kind", "on"):
        if union.args.get(key):
            raise text.error(f"UNION ... {key.upper().replace('_', ' ')} is not supported", union)
    branches = []
    for side in (union.this, union.expression):
        if isinstance(side, exp.Union):
            branches.extend(_union_branches(side, text))
        elif isinstance(side, exp.Select):
            branches.append(side)
        elif isinstance(side, exp.Subquery) and isinstance(side.this, exp.Select):
            branches.append(side.this)
        else:
            raise text.error("each side of UNION ALL must be a SELECT", side)
    return branches


def _unsupported_statement(statement: exp.Expression) -> str:
    if isinstance(statement, exp.SetOperation):
        return f"{statement.key.upper()} is not supported yet"
    if isinstance(statement, exp.Command):
        return f"unsupported statement {str(statement.this).upper()}: use CREATE TABLE, SELECT or INSERT INTO"
    return f"unsupported statement {statement.key.upper()}: use CREATE TABLE, SELECT or INSERT INTO"


def _columns(count: int) -> str:
    return f"{count} column" if count == 1 else f"{count} columns"
