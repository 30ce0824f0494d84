"""The tables a query declares with `CREATE TABLE ... WITH (connector = ...)`.

Declaring a table validates it completely (connector, options, columns), even if no query
reads it, so a typo in an unused table is reported where it is rather than never.
Names follow SQL: unquoted identifiers fold to lower case, quoted ones are kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from services.paths import PathPolicy
from services.planner.connectors import Connector, UnknownConnectorError, connector
from services.planner.positions import SqlText
from services.worker.engine.errors import ConnectorOptionError
from services.worker.engine.expressions import column_name
from services.worker.engine.row_schema import Field, RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT
from services.worker.engine.sql_types import UnsupportedTypeError, polars_type

CONNECTOR_OPTION = "connector"


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
        if isinstance(target, exp.Schema):
            columns = list(target.expressions)
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
        try:
            table_connector = connector(connector_text)
        except UnknownConnectorError as error:
            raise text.error(str(error), option_nodes[CONNECTOR_OPTION]) from None
        try:
            schema = table_connector.validate(options, declared, self._paths)
        except ConnectorOptionError as error:
            node = option_nodes.get(error.option) or option_nodes[CONNECTOR_OPTION]
            raise text.error(f"table {name!r}: {error.message}", node) from None
        table = TableDef(name, table_connector, options, declared, schema, statement)
        self._tables[name] = table
        return table

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
            if not isinstance(prop, exp.Property) or type(prop) is not exp.Property:
                raise text.error(f"unsupported table property {prop.sql(dialect=SQL_DIALECT)}", prop)
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
