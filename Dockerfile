# The one Weir image: every service (`weir controller|metrics|worker|gateway|up`) runs from it;
# compose.yaml picks the command. Envoy runs from its own upstream image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package is built from (.dockerignore lets nothing else in): the contract with
# its generated code, the services, and the metadata pyproject.toml reads.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos ./protos
COPY services ./services
RUN pip install . && rm -rf /src

# Not root. The data dir (and the checkpoints dir compose mounts a volume on) belongs to the
# weir user, so a new named volume starts out writable by it.
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/weir weir \
    && mkdir /var/lib/weir/checkpoints \
    && chown weir:weir /var/lib/weir/checkpoints
USER weir
WORKDIR /var/lib/weir

ENTRYPOINT ["weir"]
CMD ["--help"]
