"""Entry point of the MCP bundle (``manifest.json``, server type ``uv``).

The host installs this project's dependencies with uv and runs this file. It lives outside the
package on purpose: run as a script, a file inside ``deeplake_mcp`` would put that directory first
on ``sys.path``, where its ``http.py`` would hide the standard library's ``http``.
"""

from deeplake_mcp.cli import main

raise SystemExit(main())
