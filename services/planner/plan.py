"""From the query text to the Dataflow: `plan_query`.

A query is a sequence of statements: `CREATE TABLE ... WITH (connector = ...)` declares
tables; each `SELECT` (its rows go to a preview sink, for `GET /jobs/{id}/output`) or
`INSERT INTO <table> SELECT ...` becomes one pipeline of operators:

    source -> [filter, if WHERE] -> [project, unless SELECT * or the same columns] -> sink

All operators get the job's parallelism and are joined by forward edges, so each pipeline
chains into one task per subtask index. Expressions are stored as normalized SQL text;
workers compile them with the same compiler the planner checked them with.
"""

from __future__ import annotations

import polars as pl
from sqlglot import exp

from services.paths import PathPolicy
from services.planner.catalog import Catalog, TableDef
from services.planner.dataflow_builder import DataflowBuilder, Kind
from services.planner.errors import PlanError
from services.planner.expressions import (
    OutputColumn,
    Scope,
    compile_checked,
    resolve_references,
    select_outputs,
)
from services.planner.positions import SqlText
from services.planner.sql import parse_statements
from services.worker.engine.expressions import column_name
from services.worker.engine.operators.preview_sink import PreviewSink
from services.worker.engine.row_schema import RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT
from services.worker.engine.sql_types import sql_type_name
from weir.v1 import dataflow_pb2

MAX_QUERY_CHARS = 1_000_000

# SELECT clauses not supported yet, by sqlglot argument name, as the user wrote them.
_CLAUSES = {
    "distinct": "DISTINCT",
    "joins": "JOIN",
    "laterals": "LATERAL",
    "group": "GROUP BY",
    "having": "HAVING",
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
_SUPPORTED_SELECT_ARGS = {"expressions", "from_", "where"}


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
    for statement in statements:
        planner.statement(statement)
    if not planner.queries:
        raise text.error(
            "the query declares tables but reads none: add a SELECT, or INSERT INTO <table> SELECT ...",
            statements[-1],
        )
    return planner.builder.dataflow


class _Planner:
    def __init__(self, text: SqlText, catalog: Catalog, builder: DataflowBuilder) -> None:
        self.text = text
        self.catalog = catalog
        self.builder = builder
        self.queries = 0

    def statement(self, statement: exp.Expression) -> None:
        if isinstance(statement, exp.Create):
            self.catalog.define(statement)
        elif isinstance(statement, exp.Insert):
            self._insert(statement)
        elif isinstance(statement, exp.Select):
            self._select(statement, sink=None)
        else:
            raise self.text.error(_unsupported_statement(statement), statement)

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
        if not isinstance(query, exp.Select):
            raise text.error("INSERT INTO needs a SELECT", query or statement)
        self._select(query, sink=table)

    def _select(self, select: exp.Select, sink: TableDef | None) -> None:
        text = self.text
        for key, value in select.args.items():
            if key not in _SUPPORTED_SELECT_ARGS and value not in (None, False, []):
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
        if not isinstance(from_.this, exp.Table):
            raise text.error("only a table can follow FROM (subqueries are not supported yet)", from_.this)
        table = self.catalog.lookup(from_.this)
        if table.schema is None:
            raise text.error(
                f"table {table.name!r} (connector {table.connector.name!r}) cannot be read", from_.this
            )
        alias = from_.this.args.get("alias")
        scope = Scope(table.name, column_name(alias.this) if alias and alias.this else None, table.schema)

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
        where = select.args.get("where")
        if where is not None:
            predicate = resolve_references(where.this, scope, text)
            compile_checked(predicate, scope.schema, text, predicate=True)
            filter_id = builder.add(
                "filter",
                "Filter",
                Kind.KIND_TRANSFORM,
                filter=dataflow_pb2.FilterSpec(predicate=predicate.sql(dialect=SQL_DIALECT)),
            )
            builder.connect(upstream, filter_id)
            upstream = filter_id

        outputs = select_outputs(list(select.expressions), scope, text)
        if sink is not None:
            outputs = self._fit_to_sink(outputs, sink, scope, select)
        if not _is_identity(outputs, scope.schema):
            project_id = builder.add(
                "project",
                "Project",
                Kind.KIND_TRANSFORM,
                project=dataflow_pb2.ProjectSpec(
                    columns=[dataflow_pb2.NamedExpression(name=o.name, sql=o.sql) for o in outputs]
                ),
            )
            builder.connect(upstream, project_id)
            upstream = project_id

        if sink is None:
            sink_spec = dataflow_pb2.SinkSpec(connector=PreviewSink.connector)
            sink_name = PreviewSink.operator_name
        else:
            assert sink.connector.sink is not None
            sink_spec = dataflow_pb2.SinkSpec(connector=sink.connector.name, options=sink.options)
            sink_name = sink.connector.sink.operator_name
        sink_id = builder.add("sink", sink_name, Kind.KIND_SINK, sink=sink_spec)
        builder.connect(upstream, sink_id)
        self.queries += 1

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


def _unsupported_statement(statement: exp.Expression) -> str:
    if isinstance(statement, exp.SetOperation):
        return f"{statement.key.upper()} is not supported yet"
    if isinstance(statement, exp.Command):
        return f"unsupported statement {str(statement.this).upper()}: use CREATE TABLE, SELECT or INSERT INTO"
    return f"unsupported statement {statement.key.upper()}: use CREATE TABLE, SELECT or INSERT INTO"


def _columns(count: int) -> str:
    return f"{count} column" if count == 1 else f"{count} columns"
