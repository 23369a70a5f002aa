"""sign_aws_request against botocore's SigV4 signer on generated requests:
identical Authorization headers."""

import datetime
import random
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

import artifact_registry as ar

SEGMENT_CHARS = "abcXYZ019-_.~ é+=:@!$'()*,;"
VALUE_CHARS = "abcXYZ019-_.~ /é+=&?#%"


def _word(rng, chars, lo=1, hi=10):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def _requests(n=300, seed=20261128):
    rng = random.Random(seed)
    for i in range(n):
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"])
        path = "/" + "/".join(urllib.parse.quote(_word(rng, SEGMENT_CHARS), safe="") for _ in range(rng.randint(0, 4)))
        params = [(_word(rng, VALUE_CHARS), _word(rng, VALUE_CHARS, 0)) for _ in range(rng.randint(0, 4))]
        query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in params)
        host = rng.choice(["example.amazonaws.com", "api.ecr.eu-west-1.amazonaws.com", "127.0.0.1:5000"])
        url = f"https://{host}{path}" + (f"?{query}" if query else "")
        headers = {}
        for j in range(rng.randint(0, 4)):
            headers[f"X-Test-{j}-{_word(rng, 'abc', 1, 3)}"] = "  ".join(_word(rng, "abc XYZ=/", 1, 8) for _ in range(rng.randint(1, 3)))
        if method in ("POST", "PUT", "PATCH") and rng.random() < 0.5:
            headers["Content-Type"] = "application/x-amz-json-1.1"
        body = rng.choice([b"", b'{"repositoryName":"acme-app"}', bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))])
        token = rng.choice([None, None, "FwoGZXIvYXdzE" + _word(rng, "abcdefXYZ0189+/=", 20, 60)])
        region = rng.choice(["us-east-1", "eu-west-1", "cn-north-1"])
        service = rng.choice(["ecr", "sts", "service"])
        when = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=rng.randint(0, 10**8))
        yield i, method, url, headers, body, token, region, service, when


def _botocore(method, url, headers, body, token, region, service, when):
    creds = botocore.credentials.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    request = botocore.awsrequest.AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when.replace(tzinfo=None)):
        botocore.auth.SigV4Auth(creds, service, region).add_auth(request)
    return request.headers


@pytest.mark.parametrize("case", list(_requests()), ids=lambda c: f"case{c[0]}")
def test_matches_botocore(case):
    _, method, url, headers, body, token, region, service, when = case
    theirs = _botocore(method, url, headers, body, token, region, service, when)
    ours = ar.sign_aws_request(method, url, headers, body, region=region, service=service,
                               access_key_id="AKIDEXAMPLE", secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                               session_token=token, timestamp=when.strftime("%Y%m%dT%H%M%SZ"))
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"]
    if token:
        assert ours["X-Amz-Security-Token"] == theirs["X-Amz-Security-Token"] == token
    for k, v in headers.items():
        assert ours[k] == v


def test_bad_timestamp_is_invalid_input():
    with pytest.raises(ar.InvalidInputError):
        ar.sign_aws_request("GET", "https://example.amazonaws.com/", {}, b"", region="us-east-1", service="ecr",
                            access_key_id="AKID", secret_access_key="secret", timestamp="2015-08-30 12:36")
