from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Dataflow(_message.Message):
    __slots__ = ("operators", "edges")
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    operators: _containers.RepeatedCompositeFieldContainer[Operator]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    def __init__(self, operators: _Optional[_Iterable[_Union[Operator, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ...) -> None: ...

class Operator(_message.Message):
    __slots__ = ("id", "name", "kind", "parallelism", "source", "filter", "project", "sink", "watermark", "window_aggregate", "union", "window_join")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Operator.Kind]
        KIND_SOURCE: _ClassVar[Operator.Kind]
        KIND_TRANSFORM: _ClassVar[Operator.Kind]
        KIND_SINK: _ClassVar[Operator.Kind]
    KIND_UNSPECIFIED: Operator.Kind
    KIND_SOURCE: Operator.Kind
    KIND_TRANSFORM: Operator.Kind
    KIND_SINK: Operator.Kind
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SINK_FIELD_NUMBER: _ClassVar[int]
    WATERMARK_FIELD_NUMBER: _ClassVar[int]
    WINDOW_AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    UNION_FIELD_NUMBER: _ClassVar[int]
    WINDOW_JOIN_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    kind: Operator.Kind
    parallelism: int
    source: SourceSpec
    filter: FilterSpec
    project: ProjectSpec
    sink: SinkSpec
    watermark: WatermarkSpec
    window_aggregate: WindowAggregateSpec
    union: UnionSpec
    window_join: WindowJoinSpec
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[Operator.Kind, str]] = ..., parallelism: _Optional[int] = ..., source: _Optional[_Union[SourceSpec, _Mapping]] = ..., filter: _Optional[_Union[FilterSpec, _Mapping]] = ..., project: _Optional[_Union[ProjectSpec, _Mapping]] = ..., sink: _Optional[_Union[SinkSpec, _Mapping]] = ..., watermark: _Optional[_Union[WatermarkSpec, _Mapping]] = ..., window_aggregate: _Optional[_Union[WindowAggregateSpec, _Mapping]] = ..., union: _Optional[_Union[UnionSpec, _Mapping]] = ..., window_join: _Optional[_Union[WindowJoinSpec, _Mapping]] = ...) -> None: ...

class SourceSpec(_message.Message):
    __slots__ = ("connector", "options", "schema")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    connector: str
    options: _containers.ScalarMap[str, str]
    schema: _containers.RepeatedCompositeFieldContainer[Column]
    def __init__(self, connector: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ..., schema: _Optional[_Iterable[_Union[Column, _Mapping]]] = ...) -> None: ...

class FilterSpec(_message.Message):
    __slots__ = ("predicate",)
    PREDICATE_FIELD_NUMBER: _ClassVar[int]
    predicate: str
    def __init__(self, predicate: _Optional[str] = ...) -> None: ...

class ProjectSpec(_message.Message):
    __slots__ = ("columns",)
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[NamedExpression]
    def __init__(self, columns: _Optional[_Iterable[_Union[NamedExpression, _Mapping]]] = ...) -> None: ...

class NamedExpression(_message.Message):
    __slots__ = ("name", "sql")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SQL_FIELD_NUMBER: _ClassVar[int]
    name: str
    sql: str
    def __init__(self, name: _Optional[str] = ..., sql: _Optional[str] = ...) -> None: ...

class WatermarkSpec(_message.Message):
    __slots__ = ("time_column", "delay_ms")
    TIME_COLUMN_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    time_column: str
    delay_ms: int
    def __init__(self, time_column: _Optional[str] = ..., delay_ms: _Optional[int] = ...) -> None: ...

class WindowAggregateSpec(_message.Message):
    __slots__ = ("window", "size_ms", "slide_ms", "gap_ms", "time_column", "key_columns", "aggregates", "window_column", "input_window_column")
    class WindowKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        WINDOW_KIND_UNSPECIFIED: _ClassVar[WindowAggregateSpec.WindowKind]
        WINDOW_KIND_TUMBLE: _ClassVar[WindowAggregateSpec.WindowKind]
        WINDOW_KIND_HOP: _ClassVar[WindowAggregateSpec.WindowKind]
        WINDOW_KIND_SESSION: _ClassVar[WindowAggregateSpec.WindowKind]
        WINDOW_KIND_INPUT: _ClassVar[WindowAggregateSpec.WindowKind]
    WINDOW_KIND_UNSPECIFIED: WindowAggregateSpec.WindowKind
    WINDOW_KIND_TUMBLE: WindowAggregateSpec.WindowKind
    WINDOW_KIND_HOP: WindowAggregateSpec.WindowKind
    WINDOW_KIND_SESSION: WindowAggregateSpec.WindowKind
    WINDOW_KIND_INPUT: WindowAggregateSpec.WindowKind
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    SIZE_MS_FIELD_NUMBER: _ClassVar[int]
    SLIDE_MS_FIELD_NUMBER: _ClassVar[int]
    GAP_MS_FIELD_NUMBER: _ClassVar[int]
    TIME_COLUMN_FIELD_NUMBER: _ClassVar[int]
    KEY_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_COLUMN_FIELD_NUMBER: _ClassVar[int]
    INPUT_WINDOW_COLUMN_FIELD_NUMBER: _ClassVar[int]
    window: WindowAggregateSpec.WindowKind
    size_ms: int
    slide_ms: int
    gap_ms: int
    time_column: str
    key_columns: _containers.RepeatedScalarFieldContainer[str]
    aggregates: _containers.RepeatedCompositeFieldContainer[Aggregate]
    window_column: str
    input_window_column: str
    def __init__(self, window: _Optional[_Union[WindowAggregateSpec.WindowKind, str]] = ..., size_ms: _Optional[int] = ..., slide_ms: _Optional[int] = ..., gap_ms: _Optional[int] = ..., time_column: _Optional[str] = ..., key_columns: _Optional[_Iterable[str]] = ..., aggregates: _Optional[_Iterable[_Union[Aggregate, _Mapping]]] = ..., window_column: _Optional[str] = ..., input_window_column: _Optional[str] = ...) -> None: ...

class Aggregate(_message.Message):
    __slots__ = ("function", "argument", "distinct", "name")
    class Function(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FUNCTION_UNSPECIFIED: _ClassVar[Aggregate.Function]
        FUNCTION_COUNT: _ClassVar[Aggregate.Function]
        FUNCTION_SUM: _ClassVar[Aggregate.Function]
        FUNCTION_MIN: _ClassVar[Aggregate.Function]
        FUNCTION_MAX: _ClassVar[Aggregate.Function]
        FUNCTION_AVG: _ClassVar[Aggregate.Function]
    FUNCTION_UNSPECIFIED: Aggregate.Function
    FUNCTION_COUNT: Aggregate.Function
    FUNCTION_SUM: Aggregate.Function
    FUNCTION_MIN: Aggregate.Function
    FUNCTION_MAX: Aggregate.Function
    FUNCTION_AVG: Aggregate.Function
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    ARGUMENT_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    function: Aggregate.Function
    argument: str
    distinct: bool
    name: str
    def __init__(self, function: _Optional[_Union[Aggregate.Function, str]] = ..., argument: _Optional[str] = ..., distinct: _Optional[bool] = ..., name: _Optional[str] = ...) -> None: ...

class UnionSpec(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WindowJoinSpec(_message.Message):
    __slots__ = ("left_schema", "right_schema", "left_keys", "right_keys", "left_window_column", "right_window_column", "left_qualifier", "right_qualifier", "side_column")
    LEFT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    RIGHT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    LEFT_KEYS_FIELD_NUMBER: _ClassVar[int]
    RIGHT_KEYS_FIELD_NUMBER: _ClassVar[int]
    LEFT_WINDOW_COLUMN_FIELD_NUMBER: _ClassVar[int]
    RIGHT_WINDOW_COLUMN_FIELD_NUMBER: _ClassVar[int]
    LEFT_QUALIFIER_FIELD_NUMBER: _ClassVar[int]
    RIGHT_QUALIFIER_FIELD_NUMBER: _ClassVar[int]
    SIDE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    left_schema: _containers.RepeatedCompositeFieldContainer[Column]
    right_schema: _containers.RepeatedCompositeFieldContainer[Column]
    left_keys: _containers.RepeatedScalarFieldContainer[str]
    right_keys: _containers.RepeatedScalarFieldContainer[str]
    left_window_column: str
    right_window_column: str
    left_qualifier: str
    right_qualifier: str
    side_column: str
    def __init__(self, left_schema: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., right_schema: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., left_keys: _Optional[_Iterable[str]] = ..., right_keys: _Optional[_Iterable[str]] = ..., left_window_column: _Optional[str] = ..., right_window_column: _Optional[str] = ..., left_qualifier: _Optional[str] = ..., right_qualifier: _Optional[str] = ..., side_column: _Optional[str] = ...) -> None: ...

class SinkSpec(_message.Message):
    __slots__ = ("connector", "options")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    connector: str
    options: _containers.ScalarMap[str, str]
    def __init__(self, connector: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Column(_message.Message):
    __slots__ = ("name", "type", "nullable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NULLABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    nullable: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., nullable: _Optional[bool] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("source_operator_id", "target_operator_id", "kind", "key_columns")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Edge.Kind]
        KIND_FORWARD: _ClassVar[Edge.Kind]
        KIND_SHUFFLE: _ClassVar[Edge.Kind]
    KIND_UNSPECIFIED: Edge.Kind
    KIND_FORWARD: Edge.Kind
    KIND_SHUFFLE: Edge.Kind
    SOURCE_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    source_operator_id: str
    target_operator_id: str
    kind: Edge.Kind
    key_columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source_operator_id: _Optional[str] = ..., target_operator_id: _Optional[str] = ..., kind: _Optional[_Union[Edge.Kind, str]] = ..., key_columns: _Optional[_Iterable[str]] = ...) -> None: ...
