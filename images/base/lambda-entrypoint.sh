#!/bin/sh
# Lambda-like entry point of the offline base image, same convention as
# public.ecr.aws/lambda/python: the image's CMD is the handler ("module.function").
# In Lambda (AWS_LAMBDA_RUNTIME_API set, host:port of the Runtime API) it serves that handler
# through the runtime interface client, awslambdaric, which build-base installs in
# $LAMBDA_RUNTIME_DIR (/var/runtime) as the AWS base does; /var/task (PYTHONPATH, the code)
# stays ahead of it on sys.path. Without the variable the AWS base would start its runtime
# interface emulator, which this offline base does not have: it says what to run instead.
set -e
if [ "$#" -eq 0 ]; then
  echo "usage: <image> module.function   (the handler, as the image's CMD)" >&2
  exit 2
fi
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}${LAMBDA_RUNTIME_DIR:-/var/runtime}" exec python3 -m awslambdaric "$@"
fi
echo "AWS_LAMBDA_RUNTIME_API is not set and this offline base has no runtime interface emulator:" \
     "give it a Runtime API (tests/containers/runtime_api.py) or run handler $1 through the local" \
     "runtime (python3 -m socialomega.local serve <service>), as docker-compose.yml does" >&2
exit 1
