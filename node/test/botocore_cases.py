"""Prints JSON: generated requests, each with the Authorization botocore's SigV4
signer gives it (the Node tests compare signAwsRequest's against these)."""
import datetime
import json
import random
import sys
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def word(rng, chars, lo=1, hi=10):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def main(n):
    rng = random.Random(4242)
    cases = []
    for _ in range(n):
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD"])
        path = "/" + "/".join(urllib.parse.quote(word(rng, "abcXYZ019-_.~ é+=:@"), safe="") for _ in range(rng.randint(0, 3)))
        params = [(word(rng, "abcXYZ019-_.~ /é+=&"), word(rng, "abcXYZ019-_.~ /é+=&", 0)) for _ in range(rng.randint(0, 3))]
        query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in params)
        url = f"https://{rng.choice(['example.amazonaws.com', 'api.ecr.us-west-2.amazonaws.com', '127.0.0.1:5000'])}{path}" + (f"?{query}" if query else "")
        headers = {f"X-Test-{j}": "  ".join(word(rng, "abc XYZ=/", 1, 6) for _ in range(rng.randint(1, 3))) for j in range(rng.randint(0, 3))}
        body = rng.choice(["", '{"repositoryName":"acme-app"}', word(rng, "abcdef0123\n", 1, 100)])
        token = rng.choice([None, "FwoGZXIvYXdzE" + word(rng, "abcXYZ0189+/=", 20, 40)])
        region, service = rng.choice(["us-east-1", "eu-west-1"]), rng.choice(["ecr", "sts"])
        when = datetime.datetime(2026, 11, 28, 7, 0, 0) + datetime.timedelta(seconds=rng.randint(0, 10**7))
        request = botocore.awsrequest.AWSRequest(method=method, url=url, headers=dict(headers), data=body.encode())
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
            botocore.auth.SigV4Auth(botocore.credentials.Credentials("AKIDEXAMPLE", SECRET, token), service, region).add_auth(request)
        cases.append({"method": method, "url": url, "headers": headers, "body": body, "region": region, "service": service,
                      "sessionToken": token, "timestamp": when.strftime("%Y%m%dT%H%M%SZ"), "authorization": request.headers["Authorization"]})
    json.dump(cases, sys.stdout)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
