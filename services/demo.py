"""The demo pipeline `weir up --demo` (and so `make run`) starts: an impulse source through a
filter and a projection into the preview sink, so every endpoint has something to show.

When API tokens are configured, creating a pipeline needs an admin token. `weir up --demo`
should keep working with tokens just as without them, and asking the operator to hand `weir up`
a raw admin token (which it would have to read from somewhere) makes the quick start worse
and puts a real credential in one more place. So `weir up` mints a demo token of its own:
random, never printed or written anywhere, known only to the `weir up` process; the children
receive only its hash (in WEIR_API_TOKENS, next to the operator's tokens) and forget it when
the platform stops.
"""

from __future__ import annotations

import os
import secrets

from services.security.api_tokens import token_sha256_hex
from services.security.new_token import TOKEN_BYTES
from services.security.process_security import TOKENS_ENV
from services.serving import insecure_channel
from weir.v1 import jobs_pb2, pipelines_pb2, pipelines_pb2_grpc

DEMO_NAME = "demo"
DEMO_QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '1000');
SELECT counter, subtask_index, counter % 10 AS bucket
FROM impulse
WHERE counter % 2 = 0"""


DEMO_TOKEN_NAME = "weir-up-demo"


def mint_demo_token() -> str:
    """An admin token for the demo, accepted by every child `weir up` starts from now on.

    Call it only when API tokens are configured: adding an entry where there was none would
    switch authentication on for everyone else."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    entry = f"admin {token_sha256_hex(token)} {DEMO_TOKEN_NAME}"
    configured = os.environ.get(TOKENS_ENV, "").strip()
    os.environ[TOKENS_ENV] = f"{configured},{entry}" if configured else entry
    return token


async def ensure_demo_pipeline(controller_address: str, token: str | None = None) -> str:
    """Create the demo pipeline unless a previous `weir up` in the same data dir did; return
    the ID of its newest job (which the controller resumes by itself). `token` authenticates
    the calls when API tokens are configured."""
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
    async with insecure_channel(controller_address) as channel:
        stub = pipelines_pb2_grpc.PipelineServiceStub(channel)
        existing = await stub.ListPipelines(
            pipelines_pb2.ListPipelinesRequest(limit=1000), metadata=metadata, timeout=10
        )
        for pipeline in existing.data:
            if pipeline.name == DEMO_NAME:
                jobs: jobs_pb2.ListJobsResponse = await stub.ListPipelineJobs(
                    pipelines_pb2.ListPipelineJobsRequest(pipeline_id=pipeline.id, limit=1),
                    metadata=metadata,
                    timeout=10,
                )
                if jobs.data:
                    return jobs.data[0].id
        created = await stub.CreatePipeline(
            pipelines_pb2.CreatePipelineRequest(name=DEMO_NAME, query=DEMO_QUERY, parallelism=2),
            metadata=metadata,
            timeout=10,
        )
        jobs = await stub.ListPipelineJobs(
            pipelines_pb2.ListPipelineJobsRequest(pipeline_id=created.id, limit=1),
            metadata=metadata,
            timeout=10,
        )
        return jobs.data[0].id
