"""The sqlglot dialect of Weir SQL.

sqlglot's own dialect is used both to read the user's query and to write expressions into
the plan, because it keeps every construct Weir supports distinct when written back
(the PostgreSQL dialect, for instance, writes `TRY_CAST` as `CAST` and so loses it).
"""

SQL_DIALECT = ""
