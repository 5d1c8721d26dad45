# deeplake-mcp as a container: streamable HTTP on :8000/mcp.
#   docker build -t deeplake-mcp .
#   docker run -p 8000:8000 -e DEEPLAKE_MCP_HTTP_TOKEN=... -v deeplake-data:/data deeplake-mcp
# (add -e DEEPLAKE_API_KEY=... to use the managed service instead of the embedded backend)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DEEPLAKE_MCP_DATA_DIR=/data \
    DEEPLAKE_MCP_TRANSPORT=http \
    DEEPLAKE_MCP_HOST=0.0.0.0 \
    DEEPLAKE_MCP_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
RUN pip install --no-cache-dir . && mkdir -p /data

VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["deeplake-mcp"]
CMD ["serve"]
