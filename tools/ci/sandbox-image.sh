#!/usr/bin/env bash
# Builds the agentkit-sandbox image once when it is missing (or was built with another
# runner) and reuses it afterwards. No container registry is involved: the image is
# debootstrapped from the Debian mirror the host's apt already uses, then imported.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${VENV_BIN:-.venv/bin}"

if ! docker info >/dev/null 2>&1; then
    echo "sandbox-image: the Docker daemon is not reachable (is it installed and started?)" >&2
    exit 1
fi
state="$("$BIN/python" -c 'from agentkit.sandbox.build import image_state
from agentkit.sandbox.docker_sandbox import connect
print(image_state(connect()))')"
if [ "$state" = "ok" ]; then
    echo "sandbox-image: agentkit-sandbox is present"
    exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    echo "sandbox-image: installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
echo "sandbox-image: image is $state; building it (about a minute)"
"$BIN/agentkit" sandbox build
