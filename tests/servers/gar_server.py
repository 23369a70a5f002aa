"""A strict contract server for Google Artifact Registry (Docker format), the OAuth 2.0
token endpoint, IAM Credentials and tokeninfo, following
docs/reference/gar-acr.md section 1. Tests point `gcp.endpoints.*` (and a
key's `token_uri`) at it.

It trusts a service-account key for project `acme-p1` (`deployer@acme-p1...`; the
suite's canary key, core/testdata/gcp-test-key.pem) and prints one
JSON line `{"port", "serviceAccountKey", "projectId", "location"}`; then it serves on
127.0.0.1 until stdin closes.

Strictness, by section of the reference:
- 1.9: `POST /token` takes only the JWT-bearer grant; the JWT must be RS256 with the
  key's `kid`, signed by that key (verified with its public half), `iss` = the key's
  e-mail, `aud` = this server's `/token`, `exp` > now and `exp - iat` <= 3600, and a
  `scope`. Tokens it issues are opaque and tied to that identity and scopes.
- Every API call needs `Authorization: Bearer` with a live token (401 UNAUTHENTICATED);
  Artifact Registry calls need the cloud-platform scope and an identity allowed on the
  project (403 PERMISSION_DENIED "... (or it may not exist)").
- 1.1-1.3: repositories create (POST `?repositoryId=` or `repository_id`, format DOCKER
  or 1) / get / delete, packages get / delete, operations get; creates and deletes are
  long-running operations that finish after `lroPolls` polls, or with an error when one
  is queued (`Operation.error` with a gRPC code).
- 1.6: IAM policies per repository with base64 etags; a stale etag is 409 ABORTED; a
  policy with conditions must be written as version 3, and read as version 1 shows its
  conditional roles as `{role}_withcond_{hash}`; bindings need members.
- 1.8: generateAccessToken on `projects/-/serviceAccounts/{email}` only, for callers
  granted tokenCreator on that account, lifetime <= 3600 s unless the org policy
  extension is configured (then 43200 s); the token it returns is that account's.
- Google STS (`POST /v1/token`, RFC 8693 as sts.googleapis.com takes it): form-encoded,
  grant_type token-exchange, requested_token_type access_token, a `scope`, an
  `audience` equal to the configured workload pool provider, a known
  `subject_token_type` (jwt, id_token, saml2), and a `subject_token` the pool trusts.
  The token is the federated principal's
  (`principal://iam.googleapis.com/{pool}/subject/{subject}`), which may then be a
  tokenCreator or a project member. `GET /_contract/subject-token` serves a configured
  subject token as JSON `{"id_token": ...}` to callers sending `Metadata-Flavor: Test`
  (a URL-sourced credential).

Test control: `GET /_contract/state`, `POST /_contract/configure`
({"lroPolls", "lroErrors": [...], "tokenLifetime", "lifetimeExtension", "tokenCreators":
{target: [callers]}, "projectMembers": [...], "staticTokens": {token: email},
"workloadAudience", "federatedSubjects": {subject_token: subject}, "urlSubjectToken"}),
`POST /_contract/package` ({"repository", "package", "createTime"}),
`POST /_contract/policy` ({"repository", "policy"}: set without etag checks).
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

from contract_http import ContractHandler, Reply, serve

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

PROJECT = "acme-p1"
LOCATION = "us-central1"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
IAM_SCOPE = "https://www.googleapis.com/auth/iam"
READER = "roles/artifactregistry.reader"
GRPC = {"INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7,
        "ABORTED": 10, "FAILED_PRECONDITION": 9, "INTERNAL": 13, "UNAUTHENTICATED": 16}


def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def ApiError(http, status, message):  # noqa: N802 (raised like an exception class)
    """Google's REST error envelope, as a Reply to raise."""
    return Reply(http, {"error": {"code": http, "message": message, "status": status}})


class State:
    def __init__(self, key_email, key_id, public_key):
        self.lock = threading.Lock()
        self.keys = {key_id: (key_email, public_key)}
        self.tokens = {}  # token -> {"email", "scopes", "expires"}
        self.repositories = {}  # id -> Repository JSON
        self.policies = {}  # id -> {"version", "bindings", "etag"}
        self.packages = {}  # (repo, package) -> {"createTime", "versions", "tags"}
        self.operations = {}  # name -> {"polls_left", "result": ("response"|"error", value), "apply"}
        self.pending_creates = set()
        self.lro_polls = 1
        self.lro_errors = []
        self.token_lifetime = 3600
        self.lifetime_extension = False
        self.token_creators = {}  # target email -> [caller emails]
        self.workload_audience = None  # //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X
        self.federated_subjects = {}  # subject token -> subject
        self.url_subject_token = None
        self.project_members = {key_email}
        self.requests = []

    def issue(self, email, scopes, lifetime):
        token = "ya29.c." + secrets.token_urlsafe(24)
        self.tokens[token] = {"email": email, "scopes": scopes, "expires": time.time() + lifetime}
        return token


class Handler(ContractHandler):
    base = ""

    def _caller(self, scope=CLOUD_PLATFORM):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise ApiError(401, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token.")
        token = auth[7:]
        info = self.state.tokens.get(token)
        if info is None and token.count(".") == 2:
            info = self._self_signed(token)
        if info is None or info["expires"] <= time.time():
            raise ApiError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.")
        if scope not in info["scopes"] and CLOUD_PLATFORM not in info["scopes"]:
            raise ApiError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        return info["email"]

    # ---- routes -------------------------------------------------------------------
    def route(self, method, path, query, body):
        s = self.state
        if path.startswith("/_contract/"):
            return self._control(method, path, body)
        if path == "/token" and method == "POST":
            return self._token(body)
        if path == "/v1/token" and method == "POST":
            return self._sts_exchange(body)
        if path == "/tokeninfo" and method == "GET":
            info = s.tokens.get((query.get("access_token") or [""])[0])
            if info is None or info["expires"] <= time.time():
                return 400, {"error": "invalid_token", "error_description": "Invalid Value"}
            return 200, {"email": info["email"], "scope": " ".join(info["scopes"]), "expires_in": int(info["expires"] - time.time())}
        if path.startswith("/v1/projects/-/serviceAccounts/") and path.endswith(":generateAccessToken") and method == "POST":
            return self._generate_access_token(urllib.parse.unquote(path[len("/v1/projects/-/serviceAccounts/"):-len(":generateAccessToken")]), body)
        if path.startswith("/v1/projects/") and "/serviceAccounts/" in path:
            raise ApiError(400, "INVALID_ARGUMENT", "The project in a service account resource name must be '-'.")
        parts = path.split("/")
        # /v1/projects/{p}/locations/{l}/...
        if len(parts) < 6 or parts[:2] != ["", "v1"] or parts[2] != "projects" or parts[4] != "locations":
            raise ApiError(404, "NOT_FOUND", "Requested entity was not found.")
        caller = self._caller()
        project, location = parts[3], parts[5]
        if caller not in s.project_members or project != PROJECT:
            raise ApiError(403, "PERMISSION_DENIED", f"Permission denied on resource project {project} (or it may not exist).")
        rest = parts[6:]
        if rest[:1] == ["operations"] and len(rest) == 2 and method == "GET":
            return self._poll(f"projects/{project}/locations/{location}/operations/{rest[1]}")
        if rest[:1] != ["repositories"]:
            raise ApiError(404, "NOT_FOUND", "Requested entity was not found.")
        if len(rest) == 1 and method == "POST":
            return self._create(project, location, query, body)
        if len(rest) < 2:
            raise ApiError(404, "NOT_FOUND", "Requested entity was not found.")
        repo_id, _, verb = rest[1].partition(":")
        name = f"projects/{project}/locations/{location}/repositories/{repo_id}"
        if len(rest) == 2 and verb == "getIamPolicy" and method == "GET":
            return self._get_policy(repo_id, name, query)
        if len(rest) == 2 and verb == "setIamPolicy" and method == "POST":
            return self._set_policy(repo_id, name, body)
        if len(rest) == 2 and not verb:
            if repo_id not in s.repositories:
                raise ApiError(404, "NOT_FOUND", f"Repository \"{name}\" not found")
            if method == "GET":
                return 200, s.repositories[repo_id]
            if method == "DELETE":
                def apply():
                    s.repositories.pop(repo_id, None)
                    s.policies.pop(repo_id, None)
                    for k in [k for k in s.packages if k[0] == repo_id]:
                        del s.packages[k]
                return self._start_operation(project, location, apply, lambda: {"@type": "type.googleapis.com/google.protobuf.Empty"})
        if len(rest) == 4 and rest[2] == "packages" and not verb:
            if repo_id not in s.repositories:
                raise ApiError(404, "NOT_FOUND", f"Repository \"{name}\" not found")
            package = urllib.parse.unquote(rest[3])
            key = (repo_id, package)
            if key not in s.packages:
                raise ApiError(404, "NOT_FOUND", f"Package \"{name}/packages/{rest[3]}\" not found")
            if method == "GET":
                p = s.packages[key]
                return 200, {"name": f"{name}/packages/{rest[3]}", "createTime": p["createTime"], "updateTime": p["createTime"]}
            if method == "DELETE":
                return self._start_operation(project, location, lambda: s.packages.pop(key, None), lambda: {"@type": "type.googleapis.com/google.protobuf.Empty"})
        raise ApiError(404, "NOT_FOUND", "Requested entity was not found.")

    def _control(self, method, path, body):
        s = self.state
        if path == "/_contract/subject-token":
            if self.headers.get("Metadata-Flavor") != "Test" or s.url_subject_token is None:
                return 403, {"error": "forbidden"}
            return 200, {"id_token": s.url_subject_token}
        data = json.loads(body or b"{}")
        if path == "/_contract/state":
            return 200, {
                "repositories": s.repositories,
                "pendingCreates": sorted(s.pending_creates),
                "policies": s.policies,
                "packages": {f"{r}/{p}": v for (r, p), v in s.packages.items()},
                "tokens": {t: {"email": i["email"], "scopes": i["scopes"]} for t, i in s.tokens.items()},
                "requests": s.requests,
            }
        if path == "/_contract/configure":
            s.lro_polls = data.get("lroPolls", s.lro_polls)
            s.lro_errors = list(data.get("lroErrors", s.lro_errors))
            s.token_lifetime = data.get("tokenLifetime", s.token_lifetime)
            s.lifetime_extension = data.get("lifetimeExtension", s.lifetime_extension)
            s.token_creators.update(data.get("tokenCreators", {}))
            s.workload_audience = data.get("workloadAudience", s.workload_audience)
            s.federated_subjects.update(data.get("federatedSubjects", {}))
            s.url_subject_token = data.get("urlSubjectToken", s.url_subject_token)
            s.project_members.update(data.get("projectMembers", []))
            for token, email in data.get("staticTokens", {}).items():
                s.tokens[token] = {"email": email, "scopes": [CLOUD_PLATFORM], "expires": time.time() + 86400}
            for token in data.get("revokeTokens", []):
                s.tokens.pop(token, None)
            return 200, {}
        if path == "/_contract/package":
            s.packages[(data["repository"], data["package"])] = {"createTime": data.get("createTime", rfc3339(time.time())), "versions": ["sha256:" + "0" * 64], "tags": ["latest"]}
            return 200, {}
        if path == "/_contract/policy":
            policy = dict(data["policy"])
            policy["etag"] = self._etag()
            s.policies[data["repository"]] = policy
            return 200, policy
        raise ApiError(404, "NOT_FOUND", "no such control endpoint")

    # ---- OAuth 2.0 ----------------------------------------------------------------
    def _verify_jwt(self, assertion):
        """The signer's e-mail and the claims of an RS256 JWT signed by a known key,
        or None (bad form, unknown kid, bad signature, or not short-lived and current)."""
        try:
            header_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(sig_b64)
        except Exception:
            return None
        if header.get("alg") != "RS256" or header.get("kid") not in self.state.keys:
            return None
        email, public_key = self.state.keys[header["kid"]]
        try:
            public_key.verify(signature, f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return None
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600 or exp <= now or iat > now + 300:
            return None
        if claims.get("iss") != email:
            return None
        return email, claims

    def _self_signed(self, token):
        """A self-signed service-account JWT used directly as a bearer token (google-auth's
        `always_use_jwt_access`): `iss` = `sub` = the account, a scope or this API's audience."""
        verified = self._verify_jwt(token)
        if verified is None:
            return None
        email, claims = verified
        if claims.get("sub") != email:
            return None
        scopes = (claims.get("scope") or "").split()
        if not scopes and claims.get("aud") == "https://artifactregistry.googleapis.com/":
            scopes = [CLOUD_PLATFORM]
        if not scopes:
            return None
        return {"email": email, "scopes": scopes, "expires": claims["exp"]}

    def _token(self, body):
        s = self.state
        if "application/x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
            return 400, {"error": "invalid_request", "error_description": "Content-Type must be application/x-www-form-urlencoded"}
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        verified = self._verify_jwt((form.get("assertion") or [""])[0])
        if verified is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe, signed by a known key. Check your iat and exp values in the JWT claim."}
        email, claims = verified
        now = time.time()
        exp = claims["exp"]
        # Google's own audience (what google-auth always sends) or this server's token
        # URI (a key's `token_uri`, which is Google's audience for real keys).
        if claims.get("aud") not in ("https://oauth2.googleapis.com/token", f"{self.base}/token"):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: aud mismatch"}
        scopes = (claims.get("scope") or "").split()
        if not scopes:
            return 400, {"error": "invalid_scope", "error_description": "Empty or missing scope not allowed."}
        lifetime = min(s.token_lifetime, exp - int(now))
        token = s.issue(email, scopes, lifetime)
        return 200, {"access_token": token, "expires_in": lifetime - 1, "token_type": "Bearer"}

    def _sts_exchange(self, body):
        s = self.state
        if "application/x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
            return 400, {"error": "invalid_request", "error_description": "Content-Type must be application/x-www-form-urlencoded"}
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        if form.get("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token":
            return 400, {"error": "invalid_request", "error_description": "Invalid requested_token_type"}
        if form.get("subject_token_type") not in ("urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token",
                                                  "urn:ietf:params:oauth:token-type:saml2"):
            return 400, {"error": "invalid_request", "error_description": "Invalid subject_token_type"}
        if not form.get("scope"):
            return 400, {"error": "invalid_scope", "error_description": "Empty or missing scope not allowed."}
        if s.workload_audience is None or form.get("audience") != s.workload_audience:
            return 400, {"error": "invalid_target", "error_description": "The target service indicated by the \"audience\" parameters is invalid."}
        subject = s.federated_subjects.get(form.get("subject_token", ""))
        if subject is None:
            return 400, {"error": "invalid_grant", "error_description": "The subject token is invalid or was not issued to this pool."}
        pool = s.workload_audience[len("//iam.googleapis.com/"):].rsplit("/providers/", 1)[0]
        token = s.issue(f"principal://iam.googleapis.com/{pool}/subject/{subject}", form["scope"].split(), 3600)
        return 200, {"access_token": token, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                     "token_type": "Bearer", "expires_in": 3599}

    def _generate_access_token(self, target, body):
        s = self.state
        caller = self._caller(IAM_SCOPE)
        if caller not in s.token_creators.get(target, []):
            raise ApiError(403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
        req = json.loads(body or b"{}")
        unknown = set(req) - {"scope", "lifetime", "delegates"}
        if unknown:
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. Unknown name {sorted(unknown)[0]!r}")
        if not req.get("scope"):
            raise ApiError(400, "INVALID_ARGUMENT", "Scope required.")
        lifetime = req.get("lifetime", "3600s")
        if not (isinstance(lifetime, str) and lifetime.endswith("s") and lifetime[:-1].isdigit()):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration)")
        seconds = int(lifetime[:-1])
        cap = 43200 if s.lifetime_extension else 3600
        if seconds > cap:
            raise ApiError(400, "INVALID_ARGUMENT", f"The lifetime requested is beyond the allowed maximum of {cap}s. Set the org policy constraints/iam.allowServiceAccountCredentialLifetimeExtension to extend it.")
        token = s.issue(target, list(req["scope"]), seconds)
        expires = datetime.fromtimestamp(int(s.tokens[token]["expires"]), timezone.utc)
        return 200, {"accessToken": token, "expireTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}

    # ---- repositories and operations -------------------------------------------------
    def _create(self, project, location, query, body):
        s = self.state
        repo_id = (query.get("repositoryId") or query.get("repository_id") or [""])[0]
        if not repo_id:
            raise ApiError(400, "INVALID_ARGUMENT", "repository_id is required")
        req = json.loads(body or b"{}")
        if req.get("format") not in ("DOCKER", 1):
            raise ApiError(400, "INVALID_ARGUMENT", "Repository format must be DOCKER for this server")
        name = f"projects/{project}/locations/{location}/repositories/{repo_id}"
        if repo_id in s.repositories or repo_id in s.pending_creates:
            raise ApiError(409, "ALREADY_EXISTS", f"the repository already exists")
        s.pending_creates.add(repo_id)
        now = rfc3339(time.time())
        repository = {"name": name, "format": "DOCKER", "description": req.get("description", ""), "labels": req.get("labels", {}),
                      "createTime": now, "updateTime": now, "mode": "STANDARD_REPOSITORY", "sizeBytes": "0",
                      "registryUri": f"{location}-docker.pkg.dev/{project}/{repo_id}"}

        def apply():
            s.pending_creates.discard(repo_id)
            s.repositories[repo_id] = repository
            s.policies.setdefault(repo_id, {"version": 1, "bindings": [], "etag": self._etag()})
        return self._start_operation(project, location, apply, lambda: {"@type": "type.googleapis.com/google.devtools.artifactregistry.v1.Repository", **repository})

    def _start_operation(self, project, location, apply, response):
        s = self.state
        name = f"projects/{project}/locations/{location}/operations/{secrets.token_hex(8)}"
        error = s.lro_errors.pop(0) if s.lro_errors else None
        op = {"polls_left": s.lro_polls, "apply": apply, "response": response, "error": error}
        s.operations[name] = op
        if op["polls_left"] == 0 and not error:
            apply()
            op["result"] = response()
        return 200, self._operation(name, op)

    def _operation(self, name, op):
        out = {"name": name, "metadata": {"@type": "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"}}
        if op["polls_left"] > 0:
            return out
        out["done"] = True
        if op["error"]:
            out["error"] = {"code": GRPC.get(op["error"]["status"], 13), "message": op["error"]["message"]}
        else:
            out["response"] = op["result"]
        return out

    def _poll(self, name):
        op = self.state.operations.get(name)
        if op is None:
            raise ApiError(404, "NOT_FOUND", f"Operation \"{name}\" not found")
        if op["polls_left"] > 0:
            op["polls_left"] -= 1
            if op["polls_left"] == 0 and not op["error"]:
                op["apply"]()
                op["result"] = op["response"]()
            elif op["polls_left"] == 0:
                self.state.pending_creates.clear()
        return 200, self._operation(name, op)

    # ---- IAM ------------------------------------------------------------------------
    @staticmethod
    def _etag():
        return base64.b64encode(os.urandom(8)).decode()

    def _get_policy(self, repo_id, name, query):
        s = self.state
        if repo_id not in s.repositories:
            raise ApiError(404, "NOT_FOUND", f"Repository \"{name}\" not found")
        version = (query.get("options.requestedPolicyVersion") or ["0"])[0]
        if version not in ("0", "1", "3"):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid requested policy version")
        policy = s.policies[repo_id]
        out = {"version": policy["version"], "etag": policy["etag"]}
        bindings = []
        for b in policy["bindings"]:
            if "condition" in b and version != "3":
                digest = hashlib.sha1(json.dumps(b["condition"], sort_keys=True).encode()).hexdigest()[:16]
                bindings.append({"role": f"{b['role']}_withcond_{digest}", "members": b["members"]})
            else:
                bindings.append(b)
        if version != "3" and policy["version"] == 3:
            out["version"] = 1
        if bindings:
            out["bindings"] = bindings
        return 200, out

    def _set_policy(self, repo_id, name, body):
        s = self.state
        if repo_id not in s.repositories:
            raise ApiError(404, "NOT_FOUND", f"Repository \"{name}\" not found")
        req = json.loads(body or b"{}")
        unknown = set(req) - {"policy", "updateMask"}
        if unknown or not isinstance(req.get("policy"), dict):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        policy = req["policy"]
        current = s.policies[repo_id]
        if "etag" in policy and policy["etag"] != current["etag"]:
            raise ApiError(409, "ABORTED", f"There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff. The request's ETag '{policy['etag']}' did not match the current policy's ETag '{current['etag']}'.")
        bindings = policy.get("bindings", [])
        version = policy.get("version", 1)
        for b in bindings:
            if not b.get("members"):
                raise ApiError(400, "INVALID_ARGUMENT", "Policy binding must have at least one member.")
            if "_withcond_" in b.get("role", ""):
                raise ApiError(400, "INVALID_ARGUMENT", f"Role {b['role']} does not exist: read the policy with version 3.")
            if "condition" in b and version != 3:
                raise ApiError(400, "INVALID_ARGUMENT", "Policies with conditions must be set with version 3.")
        if any("condition" in b for b in current["bindings"]) and version != 3:
            raise ApiError(400, "INVALID_ARGUMENT", "The policy has conditional role bindings: write it with version 3.")
        stored = {"version": version, "bindings": bindings, "etag": self._etag()}
        s.policies[repo_id] = stored
        out = {"version": version, "etag": stored["etag"]}
        if bindings:
            out["bindings"] = bindings
        return 200, out


def main():
    # The suite's canary key (tests/canaries.json names it): whatever prints a line
    # of it, the scan finds.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "core", "testdata", "gcp-test-key.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    key_id = secrets.token_hex(20)
    email = f"deployer@{PROJECT}.iam.gserviceaccount.com"

    def make_state(port):
        Handler.base = f"http://127.0.0.1:{port}"
        return State(email, key_id, key.public_key())

    def ready(_state):
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        return {"serviceAccountKey": {
            "type": "service_account", "project_id": PROJECT, "private_key_id": key_id, "private_key": pem,
            "client_email": email, "client_id": "100000000000000000001", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{Handler.base}/token", "universe_domain": "googleapis.com",
        }, "projectId": PROJECT, "location": LOCATION}

    serve(Handler, make_state, ready)


if __name__ == "__main__":
    main()
