"""The tables a query declares with `CREATE TABLE ... WITH (connector = ...)`.

Declaring a table validates it completely (connector, options, columns), even if no query
reads it, so a typo in an unused table is reported where it is rather than never.
Names follow SQL: unquoted identifiers fold to lower case, quoted ones are kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from sqlglot import exp

from services.paths import PathPolicy
from services.planner.connectors import Connector, UnknownConnectorError, connector
from services.planner.intervals import interval_ms
from services.planner.positions import SqlText
from services.worker.engine.errors import ConnectorOptionError
from services.worker.engine.expressions import column_name
from services.worker.engine.row_schema import Field, RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT
from services.worker.engine.sql_types import UnsupportedTypeError, polars_type, sql_type_name

CONNECTOR_OPTION = "connector"
# Arroyo's option naming the event-time column (as `WATERMARK FOR <column>` does).
EVENT_TIME_OPTION = "event_time_field"
# A source column of this name (a TIMESTAMP) is the table's event time unless the table
# says otherwise: how a connector whose rows carry their own time (nexmark) provides it,
# as Arroyo's hidden `_timestamp` column does.
CONNECTOR_EVENT_TIME_COLUMN = "_timestamp"


@dataclass(frozen=True)
class EventTime:
    """Where a table's rows get their event time: a TIMESTAMP column, and how far behind
    the latest row the watermark trails (`WATERMARK FOR ts AS ts - INTERVAL '5' SECOND`)."""

    column: str
    delay_ms: int


@dataclass
class TableDef:
    """A declared table. `schema` is how it reads (None if it cannot be read); `declared`
    holds the columns written in the statement, if any."""

    name: str
    connector: Connector
    options: dict[str, str]
    declared: RowSchema | None
    schema: RowSchema | None
    statement: exp.Create = field(repr=False)
    event_time: EventTime | None = None


class Catalog:
    def __init__(self, text: SqlText, paths: PathPolicy) -> None:
        self._text = text
        self._paths = paths
        self._tables: dict[str, TableDef] = {}

    def define(self, statement: exp.Create) -> TableDef:
        """Declare the table of a CREATE TABLE statement."""
        text = self._text
        kind = str(statement.args.get("kind") or "").upper()
        if kind != "TABLE":
            raise text.error(f"CREATE {kind or 'statement'} is not supported; use CREATE TABLE", statement)
        if statement.args.get("expression") is not None:
            raise text.error(
                "CREATE TABLE ... AS SELECT is not supported; declare a connector table and INSERT INTO it",
                statement.args["expression"],
            )
        target = statement.this
        columns: list[exp.Expression] = []
        watermarks: list[exp.WatermarkColumnConstraint] = []
        if isinstance(target, exp.Schema):
            for element in target.expressions:
                if isinstance(element, exp.WatermarkColumnConstraint):
                    watermarks.append(element)
                else:
                    columns.append(element)
            target = target.this
        if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
            raise text.error("expected a table name after CREATE TABLE", statement)
        if target.args.get("db") or target.args.get("catalog"):
            raise text.error(
                f"qualified table names are not supported: {target.sql(dialect=SQL_DIALECT)}", target
            )
        name = column_name(target.this)
        if name in self._tables:
            raise text.error(f"table {name!r} is already defined", target)
        declared = RowSchema(self._column(c) for c in columns) if columns else None
        options, option_nodes = self._options(statement, name, target)
        connector_text = options.pop(CONNECTOR_OPTION)
        event_time_field = options.pop(EVENT_TIME_OPTION, None)
        try:
            table_connector = connector(connector_text)
        except UnknownConnectorError as error:
            raise text.error(str(error), option_nodes[CONNECTOR_OPTION]) from None
        try:
            schema = table_connector.validate(options, declared, self._paths)
        except ConnectorOptionError as error:
            node = option_nodes.get(error.option) or option_nodes[CONNECTOR_OPTION]
            raise text.error(f"table {name!r}: {error.message}", node) from None
        event_time = self._event_time(name, schema, watermarks, event_time_field, option_nodes, target)
        table = TableDef(name, table_connector, options, declared, schema, statement, event_time)
        self._tables[name] = table
        return table

    def _event_time(
        self,
        name: str,
        schema: RowSchema | None,
        watermarks: list[exp.WatermarkColumnConstraint],
        event_time_field: str | None,
        option_nodes: dict[str, exp.Expression],
        target: exp.Table,
    ) -> EventTime | None:
        """The event time of a table, from `WATERMARK FOR` or the `event_time_field` option."""
        text = self._text
        if len(watermarks) > 1:
            raise text.error(f"table {name!r} has more than one WATERMARK", watermarks[1])
        if watermarks and event_time_field is not None:
            raise text.error(
                f"table {name!r} sets its event time twice: WATERMARK FOR and {EVENT_TIME_OPTION}",
                option_nodes[EVENT_TIME_OPTION],
            )
        if not watermarks and event_time_field is None:
            if schema is None:
                return None
            connector_time = schema.get(CONNECTOR_EVENT_TIME_COLUMN)
            if connector_time is None or not isinstance(connector_time.dtype, pl.Datetime):
                return None
            return EventTime(CONNECTOR_EVENT_TIME_COLUMN, 0)
        delay_ms = 0
        if watermarks:
            watermark = watermarks[0]
            column_node = watermark.this
            if not isinstance(column_node, exp.Column) or not isinstance(column_node.this, exp.Identifier):
                raise text.error("expected a column name after WATERMARK FOR", watermark)
            column = column_name(column_node.this)
            node: exp.Expression = column_node
            delay = watermark.args.get("expression")
            if isinstance(delay, exp.Expression):
                if (
                    not isinstance(delay, exp.Sub)
                    or not isinstance(delay.this, exp.Column)
                    or not isinstance(delay.this.this, exp.Identifier)
                    or column_name(delay.this.this) != column
                ):
                    raise text.error(
                        f"a watermark must be {column} or {column} - INTERVAL '...'",
                        delay,
                    )
                delay_ms = interval_ms(delay.expression, text, "a watermark delay")
        else:
            assert event_time_field is not None
            column = event_time_field
            node = option_nodes[EVENT_TIME_OPTION]
        if schema is None:
            raise text.error(f"table {name!r} cannot be read, so it has no event time", node or target)
        found = schema.get(column)
        if found is None:
            raise text.error(f"table {name!r} has no column {column!r} for its event time", node)
        if not isinstance(found.dtype, pl.Datetime):
            raise text.error(
                f"the event time column {column!r} of table {name!r} must be TIMESTAMP, "
                f"not {sql_type_name(found.dtype)}",
                node,
            )
        return EventTime(column, delay_ms)

    def defines(self, name: str) -> bool:
        """Whether a table called `name` (as folded) is declared."""
        return name in self._tables

    def lookup(self, table: exp.Table) -> TableDef:
        """The declared table a FROM or INSERT INTO names."""
        if not isinstance(table.this, exp.Identifier):
            raise self._text.error(f"unsupported table expression {table.sql(dialect=SQL_DIALECT)}", table)
        if table.args.get("db") or table.args.get("catalog"):
            raise self._text.error(
                f"qualified table names are not supported: {table.sql(dialect=SQL_DIALECT)}", table
            )
        name = column_name(table.this)
        found = self._tables.get(name)
        if found is None:
            known = (
                ", ".join(sorted(self._tables))
                or "none; declare one with CREATE TABLE ... WITH (connector = ...)"
            )
            raise self._text.error(f"unknown table {name!r} (tables: {known})", table)
        return found

    def _column(self, node: exp.Expression) -> Field:
        text = self._text
        if not isinstance(node, exp.ColumnDef):
            raise text.error(f"unsupported table element {node.sql(dialect=SQL_DIALECT)}", node)
        name = column_name(node.this)
        kind = node.args.get("kind")
        if not isinstance(kind, exp.DataType):
            raise text.error(f"column {name!r} needs a type", node)
        try:
            dtype = polars_type(kind)
        except UnsupportedTypeError as error:
            raise text.error(f"column {name!r}: {error}", node) from None
        nullable = True
        for constraint in node.args.get("constraints") or []:
            if isinstance(constraint.args.get("kind"), exp.NotNullColumnConstraint):
                nullable = bool(constraint.args["kind"].args.get("allow_null"))
            else:
                raise text.error(
                    f"column {name!r}: constraint {constraint.sql(dialect=SQL_DIALECT)} is not supported",
                    node,
                )
        return Field(name, dtype, nullable)

    def _options(
        self, statement: exp.Create, name: str, target: exp.Table
    ) -> tuple[dict[str, str], dict[str, exp.Expression]]:
        text = self._text
        options: dict[str, str] = {}
        nodes: dict[str, exp.Expression] = {}
        properties = statement.args.get("properties")
        for prop in properties.expressions if properties else []:
            if isinstance(prop, exp.FileFormatProperty):
                # sqlglot reads `format = '...'` as a property of its own.
                key_node, value = exp.Var(this="format"), prop.this
            elif not isinstance(prop, exp.Property) or type(prop) is not exp.Property:
                raise text.error(f"unsupported table property {prop.sql(dialect=SQL_DIALECT)}", prop)
            else:
                key_node, value = prop.this, prop.args.get("value")
            if isinstance(key_node, exp.Literal | exp.Var | exp.Identifier):
                key = str(key_node.this).lower()
            else:
                raise text.error(f"unsupported option name {key_node.sql(dialect=SQL_DIALECT)}", prop)
            if isinstance(value, exp.Literal):
                value_text = str(value.this)
            elif isinstance(value, exp.Boolean):
                value_text = "true" if value.this else "false"
            else:
                raise text.error(f"option {key!r} must be a literal value, like {key} = '...'", value or prop)
            if key in options:
                raise text.error(f"option {key!r} is given twice", prop)
            options[key] = value_text
            nodes[key] = value
        if CONNECTOR_OPTION not in options:
            raise text.error(f"table {name!r} has no connector: add WITH (connector = '...')", target)
        return options, nodes
