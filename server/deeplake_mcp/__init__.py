"""deeplake-mcp: an MCP server for Deep Lake databases."""

__version__ = "0.1.0"
