#!/usr/bin/env bash
# Makes `npm run notebooks` possible: Jupyter from Debian's packages (for the system Python,
# /usr/bin/python3: the python3 on PATH may be another one, without Jupyter) and the tslab
# TypeScript kernel registered into the project-local prefix .jupyter/ (git-ignored).
# Idempotent: apt runs only when a Jupyter module is missing; the kernel spec is rewritten each
# time (it holds this checkout's absolute path to tslab).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=/usr/bin/python3
PACKAGES=(jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client)

have_jupyter() {
  [ -x "$PYTHON" ] && "$PYTHON" -c 'import nbconvert, nbclient, ipykernel, jupyter_client' 2>/dev/null
}

if have_jupyter; then
  echo "notebooks-setup: Jupyter is already installed for $PYTHON"
else
  echo "notebooks-setup: installing Jupyter from Debian's packages: ${PACKAGES[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null; then
    SUDO=(sudo)
  else
    echo "notebooks-setup: need root (or sudo) to run: apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}"
  if ! have_jupyter; then
    echo "notebooks-setup: $PYTHON still cannot import nbconvert, nbclient, ipykernel and jupyter_client" >&2
    exit 1
  fi
fi

TSLAB="$PWD/node_modules/.bin/tslab"
if [ ! -x "$TSLAB" ]; then
  echo "notebooks-setup: $TSLAB is missing: run npm ci first" >&2
  exit 1
fi
# tslab's kernel talks to Jupyter over ZeroMQ; its native addon ships prebuilt in the package.
if ! node -e "require('zeromq')" 2>/dev/null; then
  echo "notebooks-setup: node cannot load zeromq (tslab's transport): node -e \"require('zeromq')\" fails" >&2
  exit 1
fi
"$TSLAB" install --python="$PYTHON" --binary="$TSLAB" --prefix="$PWD/.jupyter" >/dev/null
echo "notebooks-setup: tslab kernel registered in $PWD/.jupyter/share/jupyter/kernels/tslab"
