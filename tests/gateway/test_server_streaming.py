"""Server-streaming methods, through a test-only service (the contract has none yet): as a
JSON array over REST, raw HttpBody chunks, and message by message through the front door."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
import httpx
import pytest
from google.api import annotations_pb2, httpbody_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

from services.gateway.grpc_front_door import ForwardingHandler, front_door_servicers
from services.gateway.http_rules import http_bindings
from services.gateway.rest_transcoder import RestTranscoder, build_routes
from services.serving import Servicer, insecure_channel, start_server
from tests.gateway.harness import LoopThread, ServedTranscoder, serve_transcoder, start_backend
from weir.v1 import jobs_pb2

SERVICE = "weir_gatewaytest.WatchService"
TIMEOUT_S = 10.0


def watch_service() -> ServiceDescriptor:
    """A public-style service with server-streaming methods, added to the default pool once."""
    pool = descriptor_pool.Default()
    try:
        return pool.FindServiceByName(SERVICE)
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto(
        name="weir_gatewaytest/watch.proto",
        package="weir_gatewaytest",
        syntax="proto3",
        dependency=["google/api/annotations.proto", "google/api/httpbody.proto", "weir/v1/jobs.proto"],
    )
    service = file.service.add(name="WatchService")
    watch = service.method.add(
        name="WatchJob",
        input_type=".weir.v1.GetJobRequest",
        output_type=".weir.v1.Job",
        server_streaming=True,
    )
    watch.options.Extensions[annotations_pb2.http].get = "/test/jobs/{job_id}/watch"
    tail = service.method.add(
        name="TailOutput",
        input_type=".weir.v1.GetJobRequest",
        output_type=".google.api.HttpBody",
        server_streaming=True,
    )
    tail.options.Extensions[annotations_pb2.http].get = "/test/jobs/{job_id}/tail"
    pool.Add(file)
    return pool.FindServiceByName(SERVICE)


STATES = (jobs_pb2.Job.Scheduling, jobs_pb2.Job.Running, jobs_pb2.Job.Finished)


class WatchBackend(grpc.GenericRpcHandler):
    """Streams a job's states; `job_missing` fails before the first message, `job_flaky` after it."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        if method == f"/{SERVICE}/WatchJob":
            return grpc.unary_stream_rpc_method_handler(self._watch)
        if method == f"/{SERVICE}/TailOutput":
            return grpc.unary_stream_rpc_method_handler(self._tail)
        return None

    async def _watch(self, request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        job_id = jobs_pb2.GetJobRequest.FromString(request).job_id
        if job_id == "job_missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"job {job_id} not found")
        await context.send_initial_metadata((("x-watch", "1"),))
        for state in STATES:
            yield jobs_pb2.Job(id=job_id, state=state, created_at=1704067200000).SerializeToString()
            if job_id == "job_flaky":
                await context.abort(grpc.StatusCode.INTERNAL, "lost the job")

    async def _tail(self, request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        yield httpbody_pb2.HttpBody(content_type="text/csv", data=b"id\n").SerializeToString()
        for row in (b"1\n", b"2\n"):
            yield httpbody_pb2.HttpBody(data=row).SerializeToString()


@dataclass
class Streaming:
    http: httpx.Client
    grpc_address: str


@pytest.fixture(scope="module")
def streaming() -> Iterator[Streaming]:
    service = watch_service()
    loop = LoopThread()
    handler = WatchBackend()

    def add(servicer: WatchBackend, server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers([servicer])

    backend = loop.run(start_backend([Servicer(add, handler, SERVICE)]))

    async def front_ends() -> tuple[grpc.aio.Channel, ServedTranscoder, grpc.aio.Server, int]:
        channel = insecure_channel(backend.address)
        timeouts = {"request_timeout_s": TIMEOUT_S, "stream_timeout_s": TIMEOUT_S}
        transcoder = RestTranscoder(build_routes(http_bindings(service)), lambda _: channel, **timeouts)
        served = await serve_transcoder(transcoder)
        door = ForwardingHandler(service, channel, **timeouts)
        server, port = await start_server(front_door_servicers([door]), "127.0.0.1", 0)
        return channel, served, server, port

    channel, served, server, port = loop.run(front_ends())
    with httpx.Client(base_url=served.base_url, timeout=TIMEOUT_S) as http:
        yield Streaming(http, f"127.0.0.1:{port}")
    loop.run(server.stop(None))
    loop.run(served.runner.cleanup())
    loop.run(channel.close())
    loop.run(backend.server.stop(None))
    loop.close()


def test_rest_streams_a_json_array(streaming: Streaming) -> None:
    response = streaming.http.get("/test/jobs/job_1/watch")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-watch"] == "1"
    assert [job["state"] for job in response.json()] == ["Scheduling", "Running", "Finished"]
    assert response.text.startswith(
        '[{"id":"job_1","pipeline_id":"","running_desired":false,"state":"Scheduling"'
    )


def test_rest_stream_error_before_first_message_is_an_error_response(streaming: Streaming) -> None:
    response = streaming.http.get("/test/jobs/job_missing/watch")
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": "job job_missing not found", "details": []}


def test_rest_stream_error_after_first_message_ends_the_array(streaming: Streaming) -> None:
    response = streaming.http.get("/test/jobs/job_flaky/watch")
    assert response.status_code == 200
    assert [job["state"] for job in response.json()] == ["Scheduling"]


def test_rest_streams_http_body_chunks_raw(streaming: Streaming) -> None:
    response = streaming.http.get("/test/jobs/job_1/tail")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert response.content == b"id\n1\n2\n"


def test_front_door_forwards_streams(streaming: Streaming) -> None:
    request = jobs_pb2.GetJobRequest(job_id="job_1").SerializeToString()
    with grpc.insecure_channel(streaming.grpc_address) as channel:
        call = channel.unary_stream(f"/{SERVICE}/WatchJob")(request, timeout=TIMEOUT_S)
        states = [jobs_pb2.Job.FromString(message).state for message in call]
        assert states == list(STATES)
        assert ("x-watch", "1") in call.initial_metadata()

        missing = jobs_pb2.GetJobRequest(job_id="job_missing").SerializeToString()
        with pytest.raises(grpc.RpcError) as raised:
            list(channel.unary_stream(f"/{SERVICE}/WatchJob")(missing, timeout=TIMEOUT_S))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
