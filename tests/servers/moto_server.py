"""Starts moto's server on a free loopback port with request-signature checking on,
creates an IAM user with an allow-all policy and an access key whose secret is the
`awsSecretAccessKey` canary (tests/canaries.json), prints one JSON line {"port",
"accessKeyId", "secretAccessKey"}, then serves until stdin closes.

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
from moto.iam.models import iam_backends  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

CANARIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "canaries.json")


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
    # moto makes up the secret; the suite's is a canary, set in moto's own store (this
    # process is the server), so that every request signed with it verifies.
    with open(CANARIES) as f:
        key["SecretAccessKey"] = json.load(f)["secrets"]["awsSecretAccessKey"]
    backend = iam_backends["123456789012"]["global"]
    [stored] = [k for k in backend.get_user("artifact-registry-tests").access_keys if k.access_key_id == key["AccessKeyId"]]
    stored.secret_access_key = key["SecretAccessKey"]
    print(json.dumps({"port": port, "accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}), flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)
    server.stop()


if __name__ == "__main__":
    main()
