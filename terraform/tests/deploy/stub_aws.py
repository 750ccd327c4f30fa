"""A stand-in for the AWS endpoints the preflight asks (terraform/tests/deploy/run points
AWS_ENDPOINT_URL here), answering in each service's own wire protocol so the real boto3 code
runs unchanged:

  sts GetCallerIdentity              query protocol, POST / Action=GetCallerIdentity (XML)
  lambda GetAccountSettings          rest-json, GET /2016-08-19/account-settings/
  lambda GetFunctionConcurrency      rest-json, GET /2019-09-30/functions/<name>/concurrency
  apigateway GetAccount              rest-json, GET /account
  secretsmanager DescribeSecret,     json 1.1, POST / X-Amz-Target: secretsmanager.<Operation>
                 GetSecretValue

What it answers comes from a scenario file (JSON), read again on every request so one server
serves every scenario of the test:
  {"account": "123456789012", "concurrency": [quota, unreserved], "reserved": {function: n},
   "apigw_role": "<arn>" | null, "secrets": {"<name>": {<key>: <value>} | null (no value)}}

`python3 stub_aws.py SCENARIO PORT_FILE`: listens on 127.0.0.1 (a free port, written to PORT_FILE)
until killed. Every request is appended to SCENARIO.log ("<service> <operation>").
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

SCENARIO = Path(sys.argv[1])


def scenario() -> dict:
    return json.loads(SCENARIO.read_text())


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet: the calls go to the log file
        pass

    def _log(self, what: str) -> None:
        with open(f"{SCENARIO}.log", "a") as log:
            log.write(what + "\n")

    def _send(self, status: int, body: str, content_type: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, doc: dict, content_type: str = "application/json") -> None:
        self._send(status, json.dumps(doc), content_type)

    def _rest_error(self, status: int, code: str, message: str) -> None:
        self._send(status, json.dumps({"message": message}), "application/json", {"x-amzn-ErrorType": code})

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        s = scenario()
        path = self.path.split("?")[0]
        if path.startswith("/2016-08-19/account-settings"):
            self._log("lambda GetAccountSettings")
            quota, unreserved = s.get("concurrency", [1000, 1000])
            self._json(
                200, {"AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}}
            )
        elif path.startswith("/2019-09-30/functions/") and path.endswith("/concurrency"):
            name = unquote(path.split("/")[3])
            self._log(f"lambda GetFunctionConcurrency {name}")
            reserved = s.get("reserved", {})
            if name in reserved:
                self._json(200, {"ReservedConcurrentExecutions": reserved[name]})
            else:
                self._rest_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        elif path == "/account":
            self._log("apigateway GetAccount")
            role = s.get("apigw_role")
            self._json(200, {"cloudwatchRoleArn": role} if role else {"throttleSettings": {"burstLimit": 5000}})
        else:
            self._rest_error(404, "UnknownOperationException", path)

    def do_POST(self) -> None:  # noqa: N802
        s = scenario()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("secretsmanager."):
            self._secrets(s, target.split(".", 1)[1], json.loads(body or "{}"))
            return
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if form.get("Action") == "GetCallerIdentity":
            self._log("sts GetCallerIdentity")
            account = s.get("account", "123456789012")
            self._send(
                200,
                '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                f"<GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/deployer</Arn>"
                f"<UserId>AIDASTUB</UserId><Account>{account}</Account></GetCallerIdentityResult>"
                "<ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                "text/xml",
            )
            return
        self._rest_error(400, "UnknownOperationException", target or form.get("Action", "?"))

    def _secrets(self, s: dict, operation: str, request: dict) -> None:
        name = request.get("SecretId", "")
        self._log(f"secretsmanager {operation} {name}")
        secrets = s.get("secrets", {})
        kind = "application/x-amz-json-1.1"
        if name not in secrets:
            self._send(
                400,
                json.dumps(
                    {
                        "__type": "ResourceNotFoundException",
                        "Message": "Secrets Manager can't find the specified secret.",
                    }
                ),
                kind,
            )
        elif operation == "DescribeSecret":
            self._json(
                200, {"ARN": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{name}-AbCdEf", "Name": name}, kind
            )
        elif operation == "GetSecretValue" and secrets[name] is None:
            self._send(
                400,
                json.dumps(
                    {
                        "__type": "ResourceNotFoundException",
                        "Message": "Secrets Manager can't find the secret value for staging label: AWSCURRENT",
                    }
                ),
                kind,
            )
        elif operation == "GetSecretValue":
            self._json(
                200, {"Name": name, "SecretString": json.dumps(secrets[name]), "VersionStages": ["AWSCURRENT"]}, kind
            )
        else:
            self._send(400, json.dumps({"__type": "InvalidRequestException", "Message": operation}), kind)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(sys.argv[2]).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
