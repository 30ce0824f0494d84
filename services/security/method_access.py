"""What credential each gRPC method needs, derived from the contract.

Public services (those with `google.api.http` rules): a method mapped to GET needs a read
token, any other an admin token. Every other service of package weir.v1 is internal and
needs the cluster secret — including services added later (a shuffle service, say), which
are internal until they gain HTTP rules. Anything outside weir.v1 (health, reflection) is
open, so probes and tooling keep working.
"""

from __future__ import annotations

import enum
import functools

from google.api import annotations_pb2

from services.contract.public_services import has_http_rule, is_public, load_contract_services
from services.security.api_tokens import Role

CONTRACT_PACKAGE_PREFIX = "/weir.v1."


class Access(enum.Enum):
    OPEN = "open"
    READ = "read"
    ADMIN = "admin"
    CLUSTER = "cluster"

    @property
    def role(self) -> Role:
        return Role.READ if self is Access.READ else Role.ADMIN


@functools.cache
def access_by_method() -> dict[str, Access]:
    """`/package.Service/Method` -> the access it needs, for every method of the contract."""
    table = {}
    for service in load_contract_services():
        public = is_public(service)
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            if not public:
                table[path] = Access.CLUSTER
            elif has_http_rule(method) and method.GetOptions().Extensions[annotations_pb2.http].HasField(
                "get"
            ):
                table[path] = Access.READ
            else:
                table[path] = Access.ADMIN
    return table


def access_for(method_path: str) -> Access:
    """Unknown methods under weir.v1 (not in this build's contract) get the strictest rule."""
    known = access_by_method().get(method_path)
    if known is not None:
        return known
    return Access.CLUSTER if method_path.startswith(CONTRACT_PACKAGE_PREFIX) else Access.OPEN
