"""Which class runs which plan operator, and the connectors the engine knows.

The planner asks this registry whether a connector exists, whether it can be read or
written, and whether a table's options are valid, so the SQL accepted is exactly what the
engine can run.
"""

from __future__ import annotations

from services.worker.engine.operators.base import Operator, SinkOperator, SourceOperator
from services.worker.engine.operators.blackhole_sink import BlackholeSink
from services.worker.engine.operators.filesystem import FilesystemSink
from services.worker.engine.operators.filter import FilterOperator
from services.worker.engine.operators.impulse import ImpulseSource
from services.worker.engine.operators.nexmark import NexmarkSource
from services.worker.engine.operators.preview_sink import PreviewSink
from services.worker.engine.operators.project import ProjectOperator
from services.worker.engine.operators.single_file import SingleFileSink, SingleFileSource
from services.worker.engine.operators.union import UnionOperator
from services.worker.engine.operators.window_aggregate import WindowAggregateOperator
from services.worker.engine.operators.window_join import WindowJoinOperator
from services.worker.engine.operators.window_watermark import WatermarkOperator
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2

SOURCE_CONNECTORS: dict[str, type[SourceOperator]] = {
    cls.connector: cls for cls in (ImpulseSource, NexmarkSource, SingleFileSource)
}
SINK_CONNECTORS: dict[str, type[SinkOperator]] = {
    cls.connector: cls for cls in (PreviewSink, BlackholeSink, SingleFileSink, FilesystemSink)
}
CONNECTORS: frozenset[str] = frozenset(SOURCE_CONNECTORS) | frozenset(SINK_CONNECTORS)


class UnknownOperatorError(ValueError):
    """A plan operator the engine cannot run."""


def build_source(spec: dataflow_pb2.Operator, subtask_index: int, parallelism: int) -> SourceOperator:
    """The source operator for a plan entry with a `SourceSpec`."""
    if spec.WhichOneof("spec") != "source":
        raise UnknownOperatorError(f"operator {spec.id} is not a source")
    source_class = SOURCE_CONNECTORS.get(spec.source.connector)
    if source_class is None:
        raise UnknownOperatorError(f"operator {spec.id}: no source connector {spec.source.connector!r}")
    return source_class(spec, subtask_index, parallelism)


def build_operator(spec: dataflow_pb2.Operator, input_schema: RowSchema) -> Operator:
    """The transform or sink operator for a plan entry, compiled for its input schema."""
    kind = spec.WhichOneof("spec")
    if kind == "filter":
        return FilterOperator(spec, input_schema)
    if kind == "project":
        return ProjectOperator(spec, input_schema)
    if kind == "watermark":
        return WatermarkOperator(spec, input_schema)
    if kind == "window_aggregate":
        return WindowAggregateOperator(spec, input_schema)
    if kind == "union":
        return UnionOperator(spec, input_schema)
    if kind == "window_join":
        return WindowJoinOperator(spec, input_schema)
    if kind == "sink":
        sink_class = SINK_CONNECTORS.get(spec.sink.connector)
        if sink_class is None:
            raise UnknownOperatorError(f"operator {spec.id}: no sink connector {spec.sink.connector!r}")
        return sink_class(spec, input_schema)
    raise UnknownOperatorError(f"operator {spec.id} ({kind or 'no spec'}) cannot run inside a chain")
