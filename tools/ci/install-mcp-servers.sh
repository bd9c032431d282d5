#!/usr/bin/env bash
# Installs the published MCP server the MCP tests start (mcp-server-time, from PyPI; it
# answers offline) into its own virtualenv, .venv-mcp: it pins the mcp SDK its own way,
# apart from the one agentkit is tested with. Idempotent and quiet.
set -euo pipefail

PYTHON=${PYTHON:-python3}
VENV=.venv-mcp
if [[ -x "$VENV/bin/mcp-server-time" ]]; then
    exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "mcp-server-time>=0.6"
