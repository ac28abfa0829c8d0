# mip-cmp sidecar image for the Argo CD repo-server (config management plugin v2).
#
# The sidecar runs /var/run/argocd/argocd-cmp-server (CMD; the stock repo-server init container copies it onto
# the shared var-files volume; the sidecar spec passes it as `args`, keeping this ENTRYPOINT). It reads the
# plugin.yaml baked in below and runs `mip-cmp` (found on PATH) as uid 999 with a read-only root filesystem;
# only /tmp is writable. The ENTRYPOINT puts an init that reaps (tini) at PID 1, then starts the warm renderer
# (mip_cmp.renderer.sidecar) before it becomes argocd-cmp-server, which reaps no orphan of its own.

FROM python:3.12-slim-bookworm AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY plugin/ plugin/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.12-slim-bookworm

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mip-cmp" \
      org.opencontainers.image.description="Argo CD config management plugin (sidecar) expanding mip.yaml into the MIP platform" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.12-slim-bookworm"

# tini: PID 1, reaps the renderer and every orphan (argocd-cmp-server reaps none).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=builder /dist/ /tmp/dist/
# Own venv, without pip in it. Bytecode is compiled now (hash-based, so it stays valid whatever the file
# timestamps) because nothing can be written at run time; missing stdlib .pyc files are compiled too.
RUN python -m venv --without-pip /opt/mip-cmp \
    && pip --python /opt/mip-cmp/bin/python install --no-cache-dir --no-compile /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash /opt/mip-cmp/lib \
    && python -m compileall -q -j 0 -x '/(test|tests|idle_test|site-packages|dist-packages)/' \
        "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" \
    && /opt/mip-cmp/bin/mip-cmp --help >/dev/null

# Root-owned and read-only; the path is argocd-cmp-server's default config location.
COPY --chmod=0444 plugin.yaml /home/argocd/cmp-server/config/plugin.yaml

# uid 999 has no passwd entry: point HOME and caches at the only writable place.
# MIP_CMP_RENDERER_IDLE=0: the warm renderer (docs/performance.md), started with the sidecar, stays for the
# container's life, so no call ever waits for it to start again.
# PYTHONSAFEPATH: never put the working directory (a checked-out repository) on the import path.
# PYDANTIC_DISABLE_PLUGINS: no scan of installed packages for pydantic plugins (mip-cmp uses none).
ENV PATH="/opt/mip-cmp/bin:${PATH}" \
    PYDANTIC_DISABLE_PLUGINS=__all__ \
    PYTHONSAFEPATH=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    MIP_CMP_RENDERER_IDLE=0

# Same uid as the repo-server, so both can use the plugin socket on the shared volume.
USER 999:999
WORKDIR /tmp
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/mip-cmp/bin/python", "-P", "-m", "mip_cmp.renderer.sidecar"]
CMD ["/var/run/argocd/argocd-cmp-server"]
