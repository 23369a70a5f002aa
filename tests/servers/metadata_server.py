"""Fake AWS credential endpoints for the credential-chain tests, on one loopback port:

- EC2 instance metadata, IMDSv2: `PUT /latest/api/token` (with
  `X-aws-ec2-metadata-token-ttl-seconds`) gives a token that the `GET`s under
  `/latest/meta-data/iam/security-credentials/` require (`"imdsV1": true` lets them
  through without one). `"hopLimitExceeded": true` makes the token PUT never answer
  in time, as a hop limit of 1 does in a container: clients must fall back to IMDSv1.
- The ECS/EKS container endpoint: `GET /container/creds`, checking `Authorization`
  against `"containerToken"` when one is set. `"containerKeys"` ({AccessKeyId,
  SecretAccessKey}, e.g. moto's) replaces its fixed keys (and drops the session
  token); `"containerExpiresIn"` sets their lifetime in seconds.
- The GCE metadata server: `GET /` answers with `Metadata-Flavor: Google` to a request
  that carries it (the ping google-auth makes), and
  `/computeMetadata/v1/instance/service-accounts/default/token` gives a token.
- Azure managed identity: App Service / Container Apps (`GET /msi/token`, checking
  `X-IDENTITY-HEADER` against `"identityHeader"`, api-version 2019-08-01) and IMDS
  (`GET /metadata/identity/oauth2/token`, `Metadata: true`, api-version 2018-02-01).
- STS `AssumeRoleWithWebIdentity` (`POST /sts/`, unsigned as real STS takes it; moto
  with signature checks on cannot answer it), for the token `web-identity-token` (or
  the configured `webIdentityToken`), answering with fixed keys (or the configured
  `webIdentityKeys`: `{"AccessKeyId", "SecretAccessKey"}`; `webIdentityRole`, when
  set, is the only role it lets assume).

Prints `{"port"}`; serves until stdin closes. `POST /_contract/configure` sets the
modes; `GET /_contract/state` lists the requests."""
import json
import secrets
import threading
import time

from contract_http import ContractHandler, serve


class State:
    def __init__(self, port):
        self.lock = threading.Lock()
        self.requests = []
        self.tokens = set()
        self.imds_v1 = False
        self.hop_limit_exceeded = False
        self.container_token = None
        self.identity_header = "app-service-identity-header"
        self.container_keys = None
        self.container_expires_in = 3600
        # Web identity: the token STS takes, and the keys it answers with (configurable,
        # so that a test can have STS hand out keys moto accepts).
        self.web_identity_token = "web-identity-token"
        self.web_identity_keys = None
        self.web_identity_role = None  # when set, the only RoleArn taken


def creds(prefix, token_key, expires_in=3600):
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + expires_in))
    return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": prefix, "SecretAccessKey": "metadata-secret-" + prefix.lower(),
            token_key: "metadata-session-token", "Expiration": expires, "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


class Handler(ContractHandler):
    def route(self, method, path, query, body):
        s = self.state
        if path == "/_contract/configure":
            data = json.loads(body or b"{}")
            s.imds_v1 = data.get("imdsV1", s.imds_v1)
            s.hop_limit_exceeded = data.get("hopLimitExceeded", s.hop_limit_exceeded)
            s.container_token = data.get("containerToken", s.container_token)
            s.container_keys = data.get("containerKeys", s.container_keys)
            s.container_expires_in = data.get("containerExpiresIn", s.container_expires_in)
            s.web_identity_token = data.get("webIdentityToken", s.web_identity_token)
            s.web_identity_keys = data.get("webIdentityKeys", s.web_identity_keys)
            s.web_identity_role = data.get("webIdentityRole", s.web_identity_role)
            return 200, {}
        if path == "/_contract/state":
            return 200, {"requests": s.requests}
        if path == "/latest/api/token" and method == "PUT":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return 400, None
            if s.hop_limit_exceeded:
                s.lock.release()
                try:
                    time.sleep(3)  # longer than any SDK waits for IMDS
                finally:
                    s.lock.acquire()
                return 504, None
            token = secrets.token_urlsafe(16)
            s.tokens.add(token)
            return 200, token.encode(), [], "text/plain"
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            token = self.headers.get("X-aws-ec2-metadata-token")
            if token not in s.tokens and not (s.imds_v1 or s.hop_limit_exceeded):
                return 401, None
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if not role:
                return 200, b"test-instance-role", [], "text/plain"
            if role != "test-instance-role":
                return 404, None
            return 200, creds("ASIAIMDSINSTANCEROLE", "Token")
        if path == "/" and method == "GET":
            if self.headers.get("Metadata-Flavor") != "Google":
                return 403, None
            return 200, b"computeMetadata/", [("Metadata-Flavor", "Google")], "application/text"
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            if self.headers.get("Metadata-Flavor") != "Google":
                return 403, None
            return 200, {"access_token": "ya29.metadata-server-token", "expires_in": 3599, "token_type": "Bearer"}, [("Metadata-Flavor", "Google")]
        if path == "/msi/token" and method == "GET":
            if self.headers.get("X-IDENTITY-HEADER") != s.identity_header or query.get("api-version") != ["2019-08-01"]:
                return 400, {"error": "invalid_request", "error_description": "X-IDENTITY-HEADER or api-version"}
            resource = (query.get("resource") or [""])[0]
            return 200, {"access_token": "app-service-managed-identity-token", "expires_on": str(int(time.time()) + 3600),
                         "resource": resource, "token_type": "Bearer", "client_id": (query.get("client_id") or ["system"])[0]}
        if path == "/metadata/identity/oauth2/token" and method == "GET":
            if self.headers.get("Metadata") != "true" or query.get("api-version") != ["2018-02-01"]:
                return 400, {"error": "invalid_request", "error_description": "Metadata header or api-version"}
            resource = (query.get("resource") or [""])[0]
            now = int(time.time())
            return 200, {"access_token": "imds-managed-identity-token", "expires_in": "3599", "expires_on": str(now + 3599),
                         "ext_expires_in": "3599", "not_before": str(now), "resource": resource, "token_type": "Bearer"}
        if path == "/sts/" and method == "POST":
            import urllib.parse
            form = urllib.parse.parse_qs(body.decode())
            one = lambda k: (form.get(k) or [""])[0]
            if one("Action") != "AssumeRoleWithWebIdentity" or not one("RoleArn") or not one("RoleSessionName"):
                return 400, b"<ErrorResponse><Error><Code>InvalidParameterValue</Code></Error></ErrorResponse>", [], "text/xml"
            if s.web_identity_role and one("RoleArn") != s.web_identity_role:
                return 403, b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>not this role</Message></Error></ErrorResponse>", [], "text/xml"
            if one("WebIdentityToken") != s.web_identity_token:
                return 400, b"<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>", [], "text/xml"
            c = creds("ASIAWEBIDENTITYROLE1", "Token")
            if s.web_identity_keys:
                c.update(s.web_identity_keys)
            xml = ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                   f"<AccessKeyId>{c['AccessKeyId']}</AccessKeyId><SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
                   f"<SessionToken>{c['Token']}</SessionToken><Expiration>{c['Expiration']}</Expiration>"
                   "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
            return 200, xml.encode(), [], "text/xml"
        if path == "/container/creds":
            if s.container_token and self.headers.get("Authorization") != s.container_token:
                return 403, {"message": "bad token"}
            c = creds("ASIACONTAINERROLE000", "Token", s.container_expires_in)
            if s.container_keys:
                c.update(s.container_keys)
                del c["Token"]
            return 200, c
        return 404, None


def main():
    serve(Handler, State, lambda s: {})


if __name__ == "__main__":
    main()
