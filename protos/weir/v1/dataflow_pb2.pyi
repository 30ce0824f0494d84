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
    __slots__ = ("id", "name", "kind", "parallelism", "source", "filter", "project", "sink")
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
    id: str
    name: str
    kind: Operator.Kind
    parallelism: int
    source: SourceSpec
    filter: FilterSpec
    project: ProjectSpec
    sink: SinkSpec
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[Operator.Kind, str]] = ..., parallelism: _Optional[int] = ..., source: _Optional[_Union[SourceSpec, _Mapping]] = ..., filter: _Optional[_Union[FilterSpec, _Mapping]] = ..., project: _Optional[_Union[ProjectSpec, _Mapping]] = ..., sink: _Optional[_Union[SinkSpec, _Mapping]] = ...) -> None: ...

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
