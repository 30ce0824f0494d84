"""Which services of the contract are public: those whose methods carry `google.api.http`.

The REST surface and the gRPC front door are both derived from the descriptors of the
generated code, never from a hand-kept list of routes. Internal services (worker, telemetry,
control plane) have no HTTP rules and so are never exposed.
"""

from __future__ import annotations

import importlib
import pkgutil

from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

import weir.v1


def load_contract_services() -> list[ServiceDescriptor]:
    """Every service of package weir.v1, importing each generated module so that its
    descriptors (and the types they use) are in the default pool."""
    services: dict[str, ServiceDescriptor] = {}
    for module_info in pkgutil.iter_modules(weir.v1.__path__):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{weir.v1.__name__}.{module_info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            services[service.full_name] = service
    return [services[name] for name in sorted(services)]


def has_http_rule(method: MethodDescriptor) -> bool:
    return method.GetOptions().HasExtension(annotations_pb2.http)


def is_public(service: ServiceDescriptor) -> bool:
    """A service is public when any of its methods has an HTTP mapping."""
    return any(has_http_rule(method) for method in service.methods)


def public_services() -> list[ServiceDescriptor]:
    return [service for service in load_contract_services() if is_public(service)]
