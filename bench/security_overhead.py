"""Benchmark: what access control costs per call.

Prints the median and p99 latency of 2,000 sequential unary calls to an in-process
`start_server`, over loopback, in three setups: nothing configured (open); a public method
with a bearer token checked against a tokens file (hash, constant-time compare, mtime
check); an internal method with the cluster secret attached by the `insecure_channel`
client interceptors and checked by the server.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from services.security import process_security
from services.security.api_tokens import ApiTokens, token_sha256_hex
from services.security.cluster_secret import ClusterSecret
from services.serving import Servicer, insecure_channel, start_server
from weir.v1 import cluster_pb2, cluster_pb2_grpc, control_plane_pb2, control_plane_pb2_grpc

CALLS = 2000


class Cluster(cluster_pb2_grpc.ClusterServiceServicer):
    async def ListWorkers(self, request: object, context: object) -> cluster_pb2.ListWorkersResponse:
        return cluster_pb2.ListWorkersResponse()


class ControlPlane(control_plane_pb2_grpc.ControlPlaneServiceServicer):
    async def Heartbeat(self, request: object, context: object) -> control_plane_pb2.HeartbeatResponse:
        return control_plane_pb2.HeartbeatResponse(known=True)


async def measure(label: str, security: process_security.ProcessSecurity, internal: bool, token: str) -> None:
    process_security.configure(security)
    servicers = [
        Servicer(cluster_pb2_grpc.add_ClusterServiceServicer_to_server, Cluster(), "weir.v1.ClusterService"),
        Servicer(
            control_plane_pb2_grpc.add_ControlPlaneServiceServicer_to_server,
            ControlPlane(),
            "weir.v1.ControlPlaneService",
        ),
    ]
    server, port = await start_server(servicers, "127.0.0.1", 0)
    async with insecure_channel(f"127.0.0.1:{port}") as channel:
        metadata = (("authorization", f"Bearer {token}"),)
        if internal:
            stub = control_plane_pb2_grpc.ControlPlaneServiceStub(channel)

            async def call() -> object:
                return await stub.Heartbeat(control_plane_pb2.HeartbeatRequest())
        else:
            cluster = cluster_pb2_grpc.ClusterServiceStub(channel)

            async def call() -> object:
                return await cluster.ListWorkers(cluster_pb2.ListWorkersRequest(), metadata=metadata)

        for _ in range(100):
            await call()
        latencies = []
        for _ in range(CALLS):
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1e6)
    await server.stop(None)
    latencies.sort()
    print(
        f"{label:<40} median {statistics.median(latencies):7.0f} us   "
        f"p99 {latencies[int(len(latencies) * 0.99)]:7.0f} us"
    )


async def main() -> None:
    token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as directory:
        tokens_file = Path(directory) / "tokens"
        tokens_file.write_text(
            f"read {token_sha256_hex(secrets.token_urlsafe(32))}\nadmin {token_sha256_hex(token)}\n"
        )
        secured = process_security.ProcessSecurity(ApiTokens(tokens_file), ClusterSecret.generate())
        await measure("open (no credentials configured)", process_security.ProcessSecurity(), False, token)
        await measure("public method, bearer token (file)", secured, False, token)
        await measure("internal method, cluster secret", secured, True, token)


if __name__ == "__main__":
    asyncio.run(main())
