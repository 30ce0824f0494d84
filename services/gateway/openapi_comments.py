"""The comments of protos/, by the full name of what they document, for the OpenAPI document.

The generated Python code keeps no comments (protoc drops `source_code_info` from it), so
they come from the descriptor set `scripts/build-descriptor-set` builds with source info:
`envoy/weir.pb`, the one Envoy's transcoder reads, built from the same protos and checked
for staleness in CI. Only the documentation is read from it; every type, field and HTTP rule
of the OpenAPI document comes from the descriptors the gateway itself serves.

Names are keyed as `weir.v1.Job` (message), `weir.v1.Job.state` (field), `weir.v1.Job.State`
(enum), `weir.v1.Job.State.Running` (enum value: under its enum, unlike protobuf's scoping,
so that values of different enums never clash), `weir.v1.JobService` (service) and
`weir.v1.JobService.ListJobs` (method).
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

log = logging.getLogger(__name__)

# Beside services/ in a checkout (`weir up`, tests, scripts/gen-openapi).
DEFAULT_DESCRIPTOR_SET = Path(__file__).resolve().parents[2] / "envoy" / "weir.pb"

# Field numbers in descriptor.proto that source locations' paths are made of.
_FILE_MESSAGE_TYPE = 4
_FILE_ENUM_TYPE = 5
_FILE_SERVICE = 6
_MESSAGE_FIELD = 2
_MESSAGE_NESTED_TYPE = 3
_MESSAGE_ENUM_TYPE = 4
_ENUM_VALUE = 2
_SERVICE_METHOD = 2

LocationPath = tuple[int, ...]


def _clean(comment: str) -> str:
    """A `//` comment's text as protoc keeps it (a leading space per line) made plain."""
    return textwrap.dedent(comment).strip()


@dataclass(frozen=True)
class ProtoComments:
    by_name: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, full_name: str) -> str:
        """The comment on `full_name`, or "" when it has none."""
        return self.by_name.get(full_name, "")

    @classmethod
    def from_files(cls, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> ProtoComments:
        by_name: dict[str, str] = {}
        for file in files:
            _FileWalk(file, by_name).run()
        return cls(by_name)

    @classmethod
    def from_descriptor_set(cls, path: Path = DEFAULT_DESCRIPTOR_SET) -> ProtoComments:
        """The comments in the FileDescriptorSet at `path`; none (with a warning) when it is
        missing or unreadable, since descriptions are documentation, not contract."""
        try:
            descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
        except (OSError, DecodeError) as error:
            log.warning("no proto comments for the OpenAPI document: cannot read %s: %s", path, error)
            return cls()
        return cls.from_files(descriptor_set.file)


class _FileWalk:
    """Pairs each definition of one file with the comment at its source location path."""

    def __init__(self, file: descriptor_pb2.FileDescriptorProto, out: dict[str, str]) -> None:
        self._out = out
        self._package = file.package
        self._comments: dict[LocationPath, str] = {}
        for location in file.source_code_info.location:
            text = _clean(location.leading_comments or location.trailing_comments)
            if text:
                self._comments[tuple(location.path)] = text
        self._file = file

    def run(self) -> None:
        prefix = self._package
        for index, message in enumerate(self._file.message_type):
            self._message(message, prefix, (_FILE_MESSAGE_TYPE, index))
        for index, enum in enumerate(self._file.enum_type):
            self._enum(enum, prefix, (_FILE_ENUM_TYPE, index))
        for index, service in enumerate(self._file.service):
            name = f"{prefix}.{service.name}"
            path = (_FILE_SERVICE, index)
            self._record(name, path)
            for method_index, method in enumerate(service.method):
                self._record(f"{name}.{method.name}", (*path, _SERVICE_METHOD, method_index))

    def _record(self, full_name: str, path: LocationPath) -> None:
        comment = self._comments.get(path)
        if comment:
            self._out[full_name] = comment

    def _message(self, message: descriptor_pb2.DescriptorProto, prefix: str, path: LocationPath) -> None:
        name = f"{prefix}.{message.name}"
        self._record(name, path)
        for index, message_field in enumerate(message.field):
            self._record(f"{name}.{message_field.name}", (*path, _MESSAGE_FIELD, index))
        for index, nested in enumerate(message.nested_type):
            self._message(nested, name, (*path, _MESSAGE_NESTED_TYPE, index))
        for index, enum in enumerate(message.enum_type):
            self._enum(enum, name, (*path, _MESSAGE_ENUM_TYPE, index))

    def _enum(self, enum: descriptor_pb2.EnumDescriptorProto, prefix: str, path: LocationPath) -> None:
        name = f"{prefix}.{enum.name}"
        self._record(name, path)
        for index, value in enumerate(enum.value):
            self._record(f"{name}.{value.name}", (*path, _ENUM_VALUE, index))
