"""Starts moto's server on a free loopback port with request-signature checking on,
creates an IAM user with an allow-all policy and an access key, prints one JSON
line {"port", "accessKeyId", "secretAccessKey"}, then serves until stdin closes.

Signature checking: INITIAL_NO_AUTH_ACTION_COUNT=3 lets exactly the three set-up
calls below through unsigned-or-wrongly-signed; every later request must be signed
with the key created here (moto 5.2).
"""
import json
import os
import sys

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


def main() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    iam = boto3.client(
        "iam",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName="artifact-registry-tests")
    iam.put_user_policy(
        UserName="artifact-registry-tests",
        PolicyName="allow-all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="artifact-registry-tests")["AccessKey"]
    print(json.dumps({"port": port, "accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}), flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)
    server.stop()


if __name__ == "__main__":
    main()
