"""ClusterService: the workers the controller knows."""

from __future__ import annotations

import grpc

from services.api_errors import rpc
from services.controller.workers import WorkerRegistry
from weir.v1 import cluster_pb2, cluster_pb2_grpc


class ClusterServicer(cluster_pb2_grpc.ClusterServiceServicer):
    def __init__(self, workers: WorkerRegistry) -> None:
        self._workers = workers

    @rpc
    async def ListWorkers(self, request: cluster_pb2.ListWorkersRequest, context: grpc.aio.ServicerContext):
        workers = sorted(self._workers.all(), key=lambda w: w.id)
        return cluster_pb2.ListWorkersResponse(data=[w.to_proto() for w in workers], has_more=False)
