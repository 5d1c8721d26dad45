# deeplake-mcp as a container: streamable HTTP on :8000/mcp, embedded backend with its data in /data.
#   docker build -t deeplake-mcp .
#   docker run -p 8000:8000 -v deeplake-data:/data \
#     -e DEEPLAKE_MCP_HTTP_TOKEN=<a long random token> \
#     -e DEEPLAKE_MCP_ALLOWED_HOSTS=mcp.example.com,mcp.example.com:* deeplake-mcp
# The server binds 0.0.0.0 here, so it refuses to start without DEEPLAKE_MCP_HTTP_TOKEN. Clients must send
# `Authorization: Bearer <token>`; a client that reaches it under a name other than localhost/127.0.0.1
# gets 421 until that Host is in DEEPLAKE_MCP_ALLOWED_HOSTS. Add -e DEEPLAKE_API_KEY=... for Deep Lake's
# managed service instead of the embedded backend; `--env-file config/env.example` lists every setting.
# Not built in this project's CI (no container builder there): it is linted (hadolint), and the same
# install steps run in a clean venv (tests/e2e/test_packaging.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEEPLAKE_MCP_DATA_DIR=/data \
    DEEPLAKE_MCP_TRANSPORT=http \
    DEEPLAKE_MCP_HOST=0.0.0.0 \
    DEEPLAKE_MCP_PORT=8000

# A user of its own (numeric, so runAsNonRoot checks can see it), owning the data volume.
RUN groupadd --system --gid 10001 deeplake \
    && useradd --system --uid 10001 --gid 10001 --create-home deeplake \
    && mkdir /data \
    && chown 10001:10001 /data

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY server ./server
# This checkout with the embedded Tensor Database (tql_query); pyproject.toml bounds the dependencies.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[tensordb]"

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ['DEEPLAKE_MCP_PORT'], timeout=4)"]
ENTRYPOINT ["deeplake-mcp"]
CMD ["serve"]
