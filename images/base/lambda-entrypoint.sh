#!/bin/sh
# Lambda-like entry point of the offline base image, same convention as
# public.ecr.aws/lambda/python: the image's CMD is the handler ("module.function").
# With the AWS Lambda runtime interface client installed it serves that handler the
# way Lambda does; otherwise it says how to run the handler locally.
set -e
if [ "$#" -eq 0 ]; then
  echo "usage: <image> module.function   (the handler, as the image's CMD)" >&2
  exit 2
fi
if python3 -c 'import awslambdaric' 2>/dev/null; then
  exec python3 -m awslambdaric "$@"
fi
echo "awslambdaric is not installed in this image: run handler $1 through the local runtime" \
     "(python3 -m socialomega.local serve <service>), as docker-compose.yml does" >&2
exit 1
