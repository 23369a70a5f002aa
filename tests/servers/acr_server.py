"""A strict contract server for Azure Container Registry, its Azure AD token endpoint
and the ARM resources for scope maps and tokens, following
docs/reference/gar-acr.md section 2. Tests point `azure.endpoints.*` at it.

It prints one JSON line `{"port", "tenantId", "subscriptionId", "clientId",
"clientSecret" (the suite's canary), "registryName", "resourceGroup", "service"}`;
then it serves on 127.0.0.1 until stdin closes.

Strictness, by section of the reference:
- 2.1: `POST /{tenant}/oauth2/v2.0/token` takes client credentials only, for the one
  registered client and secret (401 invalid_client otherwise), or instead of the
  secret a `client_assertion` (type jwt-bearer) the client's federated credential
  trusts (`"federatedAssertions"`; 400 invalid_client AADSTS70021 otherwise), or one
  signed with a certificate registered for the client (`"certificates"`: PEM; RS256
  named by its SHA-1 thumbprint `x5t`, or PS256 by `x5t#S256`, as MSAL writes them;
  `aud` the token endpoint, `iss` = `sub` = the client, within `nbf`..`exp`, each
  `jti` once; 401 invalid_client AADSTS700027 otherwise); `scope` must be an
  audience this server knows + `/.default`. Tokens are JWTs (HS256 with a server key)
  carrying `aud`, `tid`, `oid`, `exp`.
- 2.2: the registry answers unauthenticated calls with 401 and
  `WWW-Authenticate: Bearer realm,service,scope`. `/oauth2/exchange` checks the AAD
  token (signature, expiry, audience: ACR's, or ARM's unless `armAudienceDisabled`),
  the `tenant` (when given, it must be the token's), and `service`; it returns an ACR
  refresh token. `/oauth2/token` checks the refresh token and returns an access token
  for the scopes asked (repeatable `scope=`), or, as `GET` with Basic auth of a
  scope-map token, for what its scope map allows, or with Basic auth of the null-GUID
  user and a refresh token (docker login with `az acr login --expose-token`'s token),
  for the scopes asked. ACR JWT payloads never contain `-`
  or `_` in their base64url form (the Python SDK decodes them as standard base64).
- 2.3: `/acr/v1/{name}` GET (metadata_read) and DELETE (delete), names percent-encoded
  or raw; `/v2/` manifests and blobs (pull to read, push to write), so a pull token
  provably cannot push. Errors use the distribution envelope (`NAME_UNKNOWN`, ...).
- 2.4: ARM scope maps, tokens and `generateCredentials`, with an ARM-audience bearer;
  api-version is required. Long-running answers come in ARM's three forms
  (`lroStyle`): 202 + `Location` polled to a 200 with the result (the default);
  `Azure-AsyncOperation` only (a status polled to `Succeeded`, which names a POST's
  result in `resourceLocation`; a token PUT answers 201 and is read back at its URL);
  or both headers, where the POST's result is at `Location` once the status has
  succeeded.

- 2.7: ARM role assignments (`Microsoft.Authorization`, api-version 2022-04-01) at
  the registry's scope: PUT (a GUID name; a known role; a principal of this tenant's
  directory; a condition needs `conditionVersion` "2.0" and must parse; the same
  principal, role, scope and condition under another name is 409
  `RoleAssignmentExists`; a name's principal, role or scope cannot change), GET, DELETE
  (204 when gone) and the listing with `$filter` (`atScope()`, `principalId eq '...'`,
  `assignedTo('...')`) in pages linked by `nextLink`. Only the registered client may
  write them (403 `AuthorizationFailed` for others, or for it when
  `roleAssignmentWriteDenied`). The registry reports `roleAssignmentMode` (api-version
  2025-11-01), and the registry's token endpoint honours the assignments: an access
  token carries, per repository asked, only the actions the subject's role
  assignments allow (AcrPull, AcrPush, AcrDelete in `LegacyRegistryPermissions`; the
  Container Registry Repository Reader, Writer and Contributor roles, their ABAC
  conditions evaluated, in `AbacRepositoryPermissions`). The registered client holds
  AcrPush, AcrDelete and Repository Contributor on the registry, so it may do
  everything in either mode; `servicePrincipals` registers more applications (the
  suite's canary is their secret too) whose tokens carry their own object id.

Test control: `GET /_contract/state`, `POST /_contract/configure` ({"accessLifetime",
"refreshLifetime", "aadLifetime", "armAudienceDisabled", "lroPolls", "lroStyle",
"tokenStatus": {name: "enabled" | "disabled"},
"expireRefreshTokens": true, "federatedAssertions": [...], "certificates": [PEM, ...],
"roleAssignmentMode", "roleAssignmentWriteDenied", "roleAssignmentPageSize",
"servicePrincipals": [{"clientId", "objectId"}]}), `POST /_contract/image`
({"repository", "tag"}: push a tiny image).
"""
import base64
import fnmatch
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

from contract_http import ContractHandler, Reply, serve

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
CLIENT_ID = "5d4f2a1c-8b7e-4c3d-9a2f-1e0b6c5d4a3f"
REGISTRY = "acmeregistry"
RESOURCE_GROUP = "deploy-rg"
ACR_AUDIENCE = "https://containerregistry.azure.net"
ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net", "https://management.chinacloudapi.cn", "https://management.usgovcloudapi.net")
SCOPE_ACTIONS = {"content/read", "content/write", "content/delete", "metadata/read", "metadata/write"}
API_VERSIONS = {"2023-07-01", "2025-04-01", "2025-11-01"}
AUTHORIZATION_API_VERSIONS = {"2020-10-01-preview", "2022-04-01"}
REGISTRY_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}"
ROLE_DEFINITIONS = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
DATA = "Microsoft.ContainerRegistry/registries/repositories/"
READ = {DATA + "content/read", DATA + "metadata/read"}
WRITE = READ | {DATA + "content/write", DATA + "metadata/write"}
DELETE = {DATA + "content/delete", DATA + "metadata/delete"}
# Built-in roles: id -> (name, the mode that honours it (None: no data actions), data actions).
ROLES = {
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": ("AcrPull", "LegacyRegistryPermissions", READ),
    "8311e382-0749-4cb8-b61a-304f252e45ec": ("AcrPush", "LegacyRegistryPermissions", WRITE),
    "c2f4ef07-c644-48eb-af81-4b1b4947fb11": ("AcrDelete", "LegacyRegistryPermissions", DELETE),
    "b93aa761-3e63-49ed-ac28-beffa264f7ac": ("Container Registry Repository Reader", "AbacRepositoryPermissions", READ),
    "2a1e307c-b015-4ebd-883e-5b7698a07328": ("Container Registry Repository Writer", "AbacRepositoryPermissions", WRITE),
    "2efddaa5-3f1f-4df3-97df-af3f13818f4c": ("Container Registry Repository Contributor", "AbacRepositoryPermissions", WRITE | DELETE),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("Reader", None, set()),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": ("Role Based Access Control Administrator", None, set()),
}
# What each registry token action needs.
TOKEN_ACTIONS = {"pull": DATA + "content/read", "metadata_read": DATA + "metadata/read", "push": DATA + "content/write",
                 "delete": DATA + "content/delete", "metadata_write": DATA + "metadata/write"}
REPOSITORY_NAME = "Microsoft.ContainerRegistry/registries/repositories:name"


class Condition:
    """An ABAC condition (version 2.0) over one request: the data action and the
    repository name. Grammar: or-expressions of and-expressions of `!x`, `(x)`,
    `ActionMatches{'pattern'}` and `@Request[attribute] Operator 'value'` (also
    `@Resource`). Anything else is a syntax error, as ARM refuses it."""

    OPERATORS = {
        "StringEquals": lambda a, v: a == v,
        "StringEqualsIgnoreCase": lambda a, v: a.lower() == v.lower(),
        "StringNotEquals": lambda a, v: a != v,
        "StringNotEqualsIgnoreCase": lambda a, v: a.lower() != v.lower(),
        "StringStartsWith": lambda a, v: a.startswith(v),
        "StringStartsWithIgnoreCase": lambda a, v: a.lower().startswith(v.lower()),
    }

    def __init__(self, text):
        self.tokens = self._tokens(text)
        self.pos = 0
        self.tree = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos]!r}")

    @staticmethod
    def _tokens(text):
        out, i = [], 0
        while i < len(text):
            c = text[i]
            if c.isspace():
                i += 1
            elif c in "()!":
                out.append(c)
                i += 1
            elif c == "'":
                j = text.index("'", i + 1)
                out.append(("str", text[i + 1:j]))
                i = j + 1
            elif text.startswith("ActionMatches{'", i):
                j = text.index("'}", i)
                out.append(("action", text[i + len("ActionMatches{'"):j]))
                i = j + 2
            elif c == "@":
                j = text.index("]", i)
                source, _, attribute = text[i + 1:j].partition("[")
                if source not in ("Request", "Resource"):
                    raise ValueError(f"unknown attribute source {source}")
                out.append(("attr", attribute))
                i = j + 1
            else:
                j = i
                while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                    j += 1
                if j == i:
                    raise ValueError(f"unexpected {c!r}")
                out.append(text[i:j])
                i = j
        return out

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self):
        token = self._peek()
        if token is None:
            raise ValueError("unexpected end of condition")
        self.pos += 1
        return token

    def _or(self):
        node = self._and()
        while isinstance(self._peek(), str) and self._peek().upper() == "OR":
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._factor()
        while isinstance(self._peek(), str) and self._peek().upper() == "AND":
            self._take()
            node = ("and", node, self._factor())
        return node

    def _factor(self):
        token = self._take()
        if token == "!":
            return ("not", self._factor())
        if token == "(":
            node = self._or()
            if self._take() != ")":
                raise ValueError("missing )")
            return node
        if isinstance(token, tuple) and token[0] == "action":
            return ("action", token[1])
        if isinstance(token, tuple) and token[0] == "attr":
            operator, value = self._take(), self._take()
            if operator not in self.OPERATORS or not (isinstance(value, tuple) and value[0] == "str"):
                raise ValueError(f"bad comparison with {operator!r}")
            return ("compare", token[1], operator, value[1])
        raise ValueError(f"unexpected {token!r}")

    def allows(self, action, repository):
        def ev(node):
            kind = node[0]
            if kind == "or":
                return ev(node[1]) or ev(node[2])
            if kind == "and":
                return ev(node[1]) and ev(node[2])
            if kind == "not":
                return not ev(node[1])
            if kind == "action":
                return fnmatch.fnmatchcase(action.lower(), node[1].lower())
            _, attribute, operator, value = node
            if attribute != REPOSITORY_NAME:
                return False
            return self.OPERATORS[operator](repository, value)
        return ev(self.tree)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rfc3339(t, digits=7):
    d = datetime.fromtimestamp(t, timezone.utc)
    frac = f"{d.microsecond:06d}0"[:digits]
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if digits else "") + "Z"


class State:
    def __init__(self, port):
        self.lock = threading.Lock()
        self.key = secrets.token_bytes(32)
        # The suite's canary (tests/canaries.json): whatever prints it, the scan finds.
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "canaries.json")) as f:
            self.client_secret = json.load(f)["secrets"]["azureClientSecret"]
        self.service = f"127.0.0.1:{port}"
        self.federated_assertions = set()  # client assertions the registered client's federated credential trusts
        self.certificates = {}  # ("x5t" | "x5t#S256", thumbprint) -> the certificate's public key
        self.seen_jti = set()
        self.base = f"{'https' if os.environ.get('CONTRACT_TLS_CERT') else 'http'}://127.0.0.1:{port}"
        self.aad_lifetime = 3600
        self.refresh_lifetime = 10800
        self.access_lifetime = 4500
        self.arm_audience_disabled = False
        self.lro_polls = 1
        # How ARM answers a long-running POST or token PUT: "location" (202 + Location),
        # "async-operation" (Azure-AsyncOperation only) or "both" (as ARM may).
        self.lro_style = "location"
        self.refresh_not_before = 0  # refresh tokens issued before this are expired
        self.repositories = {}  # name -> {"createdTime", "lastUpdateTime", "manifests", "tags", "blobs"}
        self.uploads = {}
        self.scope_maps = {}  # name -> resource
        self.tokens = {}  # name -> resource
        self.passwords = {}  # token name -> {slot ("password1"/"password2"): (password, expiry)}
        # Every password generated: {"token", "slot", "fingerprint" (sha256 prefix),
        # "created", "replaced" (epoch seconds; None while it is current)}.
        self.password_log = []
        self.operations = {}  # id -> {"polls_left", "result"}
        self.requests = []
        # Entra: client id -> object id of its service principal in this tenant.
        self.apps = {CLIENT_ID: CLIENT_ID}
        self.role_assignment_mode = "LegacyRegistryPermissions"
        self.role_assignment_write_denied = False
        self.role_assignment_page_size = 1000
        self.role_assignments = {}  # name -> resource
        now = rfc3339(time.time())
        for name, scope, role in (
            ("6f1c0e4a-1b2c-4d3e-8f40-5a6b7c8d9e01", REGISTRY_ID, "8311e382-0749-4cb8-b61a-304f252e45ec"),
            ("6f1c0e4a-1b2c-4d3e-8f40-5a6b7c8d9e02", REGISTRY_ID, "c2f4ef07-c644-48eb-af81-4b1b4947fb11"),
            ("6f1c0e4a-1b2c-4d3e-8f40-5a6b7c8d9e03", REGISTRY_ID, "2efddaa5-3f1f-4df3-97df-af3f13818f4c"),
            ("6f1c0e4a-1b2c-4d3e-8f40-5a6b7c8d9e04", f"/subscriptions/{SUBSCRIPTION}", "f58310d9-a9f6-439a-9e8d-f62e7b41a168"),
        ):
            self.role_assignments[name] = role_assignment(name, scope, {"roleDefinitionId": ROLE_DEFINITIONS + role,
                                                                        "principalId": CLIENT_ID, "principalType": "ServicePrincipal"}, now)

    def may(self, principal, action, repository):
        """Whether the registry lets `principal` do the data `action` on `repository`."""
        for a in self.role_assignments.values():
            p = a["properties"]
            role = ROLES.get(p["roleDefinitionId"].rsplit("/", 1)[-1].lower())
            if p["principalId"] != principal or role is None or role[1] != self.role_assignment_mode or action not in role[2]:
                continue
            if not (REGISTRY_ID.lower() + "/").startswith(p["scope"].lower().rstrip("/") + "/"):
                continue
            if p.get("condition") and not Condition(p["condition"]).allows(action, repository):
                continue
            return True
        return False

    # ---- JWTs ------------------------------------------------------------------------
    def sign(self, claims, sdk_safe=False):
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = dict(claims)
        if sdk_safe:
            # azure-containerregistry decodes the payload with standard base64: keep
            # '-' and '_' out of it, and make its length need no padding.
            for n in range(10000):
                claims["n"] = "x" * n
                payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
                if "-" not in payload and "_" not in payload and len(payload) % 4 == 0:
                    break
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = b64url(hmac.new(self.key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def verify(self, token):
        try:
            header, payload, signature = token.split(".")
        except ValueError:
            return None
        expected = b64url(hmac.new(self.key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return None
        claims = json.loads(b64url_decode(payload))
        if claims.get("exp", 0) <= time.time():
            return None
        return claims


def role_assignment(name, scope, properties, now):
    return {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"roleDefinitionId": properties["roleDefinitionId"], "principalId": properties["principalId"],
                           "principalType": properties.get("principalType") or "ServicePrincipal", "scope": scope,
                           "condition": properties.get("condition"), "conditionVersion": properties.get("conditionVersion"),
                           "description": properties.get("description"), "createdOn": now, "updatedOn": now,
                           "createdBy": CLIENT_ID, "updatedBy": CLIENT_ID, "delegatedManagedIdentityResourceId": None}}


class Handler(ContractHandler):
    content_type = "application/json; charset=utf-8"

    def extra_headers(self):
        return [("Docker-Distribution-Api-Version", "registry/2.0")]

    def _form(self, body):
        if "application/x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
            raise Reply(400, {"error": "invalid_request", "error_description": "Content-Type must be application/x-www-form-urlencoded"})
        return urllib.parse.parse_qs(body.decode(), keep_blank_values=True)

    # ---- routes -------------------------------------------------------------------
    def route(self, method, path, query, body):
        s = self.state
        path = "/" + path.lstrip("/")  # azure-mgmt-authorization joins "/{scope}" with a scope that starts with "/"
        if path.startswith("/_contract/"):
            return self._control(path, body)
        if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return 200, {"token_endpoint": f"{s.base}/{TENANT}/oauth2/v2.0/token", "issuer": f"{s.base}/{TENANT}/v2.0",
                         "authorization_endpoint": f"{s.base}/{TENANT}/oauth2/v2.0/authorize", "tenant_region_scope": "NA"}
        if path.endswith("/oauth2/v2.0/token") and method == "POST":
            return self._aad_token(path.split("/")[1], body)
        if path == "/oauth2/exchange" and method == "POST":
            return self._exchange(body)
        if path == "/oauth2/token":
            return self._acr_token(method, query, body)
        if path.startswith("/acr/v1/"):
            return self._acr_v1(method, urllib.parse.unquote(path[len("/acr/v1/"):]))
        if path == "/v2/" or path == "/v2":
            self._authorize(None, None)
            return 200, {}
        if path.startswith("/v2/"):
            return self._v2(method, path[len("/v2/"):], query, body)
        if path.startswith("/subscriptions/"):
            return self._arm(method, path, query, body)
        return 404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]}

    def _control(self, path, body):
        s = self.state
        data = json.loads(body or b"{}")
        if path == "/_contract/state":
            return 200, {"repositories": {n: {"tags": r["tags"], "manifests": sorted(r["manifests"])} for n, r in s.repositories.items()},
                         "scopeMaps": s.scope_maps, "tokens": s.tokens, "requests": s.requests,
                         "passwords": {t: {slot: {"expiry": e} for slot, (_, e) in slots.items()} for t, slots in s.passwords.items()},
                         "passwordLog": s.password_log, "roleAssignments": s.role_assignments,
                         "roleAssignmentMode": s.role_assignment_mode}
        if path == "/_contract/configure":
            if "publicUrl" in data:
                # Served behind a proxy: challenges and tokens name the proxy's address.
                s.base = data["publicUrl"]
                s.service = urllib.parse.urlsplit(s.base).netloc
            s.access_lifetime = data.get("accessLifetime", s.access_lifetime)
            s.refresh_lifetime = data.get("refreshLifetime", s.refresh_lifetime)
            s.aad_lifetime = data.get("aadLifetime", s.aad_lifetime)
            s.arm_audience_disabled = data.get("armAudienceDisabled", s.arm_audience_disabled)
            s.lro_polls = data.get("lroPolls", s.lro_polls)
            if data.get("lroStyle", s.lro_style) not in ("location", "async-operation", "both"):
                return 400, {"error": "lroStyle is location, async-operation or both"}
            s.lro_style = data.get("lroStyle", s.lro_style)
            for name, status in data.get("tokenStatus", {}).items():
                s.tokens[name]["properties"]["status"] = status
            s.federated_assertions.update(data.get("federatedAssertions", []))
            for pem in data.get("certificates", []):
                from cryptography import x509
                from cryptography.hazmat.primitives import hashes
                cert = x509.load_pem_x509_certificate(pem.encode())
                s.certificates[("x5t", b64url(cert.fingerprint(hashes.SHA1())))] = cert.public_key()
                s.certificates[("x5t#S256", b64url(cert.fingerprint(hashes.SHA256())))] = cert.public_key()
            if data.get("roleAssignmentMode", s.role_assignment_mode) not in ("LegacyRegistryPermissions", "AbacRepositoryPermissions"):
                return 400, {"error": "roleAssignmentMode is LegacyRegistryPermissions or AbacRepositoryPermissions"}
            s.role_assignment_mode = data.get("roleAssignmentMode", s.role_assignment_mode)
            s.role_assignment_write_denied = data.get("roleAssignmentWriteDenied", s.role_assignment_write_denied)
            s.role_assignment_page_size = data.get("roleAssignmentPageSize", s.role_assignment_page_size)
            for app in data.get("servicePrincipals", []):
                s.apps[app["clientId"]] = app["objectId"].lower()
            if data.get("expireRefreshTokens"):
                s.refresh_not_before = int(time.time()) + 1
            return 200, {}
        if path == "/_contract/image":
            self._store_image(data["repository"], data.get("tag", "latest"))
            return 200, {}
        return 404, {}

    def _store_image(self, name, tag):
        repo = self._repo(name, create=True)
        config = b"{}"
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        repo["blobs"][config_digest] = config
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
                               "layers": []}).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        repo["manifests"][digest] = manifest
        repo["tags"][tag] = digest

    def _repo(self, name, create=False):
        s = self.state
        if name not in s.repositories and create:
            now = time.time()
            s.repositories[name] = {"createdTime": rfc3339(now), "lastUpdateTime": rfc3339(now), "manifests": {}, "tags": {}, "blobs": {}}
        return s.repositories.get(name)

    # ---- Azure AD -------------------------------------------------------------------
    def _aad_token(self, tenant, body):
        s = self.state
        form = self._form(body)
        one = lambda k: (form.get(k) or [""])[0]
        if tenant != TENANT:
            return 400, {"error": "invalid_request", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}
        if one("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003: grant_type must be client_credentials."}
        if "client_assertion" in form or "client_assertion_type" in form:
            if "client_secret" in form:
                return 400, {"error": "invalid_request", "error_description": "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented with both.", "error_codes": [700025]}
            if one("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return 400, {"error": "invalid_request", "error_description": "AADSTS50027: Invalid client_assertion_type.", "error_codes": [50027]}
            certified = self._certificate_assertion(one("client_assertion"), tenant) if one("client_id") == CLIENT_ID else None
            if certified is False:
                return 401, {"error": "invalid_client", "error_description": "AADSTS700027: Client assertion failed signature validation.", "error_codes": [700027]}
            if one("client_id") != CLIENT_ID or (certified is None and one("client_assertion") not in s.federated_assertions):
                return 400, {"error": "invalid_client", "error_description": "AADSTS70021: No matching federated identity record found for presented assertion.", "error_codes": [70021]}
        elif one("client_id") not in s.apps or not hmac.compare_digest(one("client_secret"), s.client_secret):
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]}
        scope = one("scope")
        audience = scope[: -len("/.default")] if scope.endswith("/.default") else None
        if audience not in (ACR_AUDIENCE,) + ARM_AUDIENCES:
            return 400, {"error": "invalid_scope", "error_description": f"AADSTS70011: The provided value for scope {scope} is not valid."}
        now = int(time.time())
        client = one("client_id")
        token = s.sign({"aud": audience, "iss": f"https://sts.windows.net/{TENANT}/", "tid": TENANT, "oid": s.apps[client],
                        "appid": client, "iat": now, "nbf": now, "exp": now + s.aad_lifetime})
        return 200, {"token_type": "Bearer", "expires_in": s.aad_lifetime, "ext_expires_in": s.aad_lifetime, "access_token": token}

    def _certificate_assertion(self, assertion, tenant):
        """None when the assertion names no registered certificate (it may be a
        federated token); else whether it is valid for the client at this endpoint."""
        s = self.state
        try:
            head, body, signature = assertion.split(".")
            header, claims = json.loads(b64url_decode(head)), json.loads(b64url_decode(body))
        except Exception:
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return None
        kind = {"RS256": "x5t", "PS256": "x5t#S256"}.get(header.get("alg"))
        # MSAL pads the thumbprint (`=`), JWS does not: both name the same certificate.
        thumbprint = header.get(kind) if kind else None
        key = s.certificates.get((kind, thumbprint.rstrip("="))) if isinstance(thumbprint, str) else None
        if key is None:
            return None
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        pad = padding.PKCS1v15() if kind == "x5t" else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        try:
            key.verify(b64url_decode(signature), f"{head}.{body}".encode(), pad, hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        now = time.time()
        ok = (claims.get("aud") == f"{s.base}/{tenant}/oauth2/v2.0/token" and claims.get("iss") == CLIENT_ID
              and claims.get("sub") == CLIENT_ID and claims.get("nbf", now) <= now + 300 and claims.get("exp", 0) > now
              and isinstance(claims.get("jti"), str) and claims["jti"] not in s.seen_jti)
        if ok:
            s.seen_jti.add(claims["jti"])
        return ok

    def _operation(self, op_id):
        """A long-running operation once it has finished (None while polls are left,
        counting this one; 404 for an unknown id)."""
        op = self.state.operations.get(op_id)
        if op is None:
            self._arm_error(404, "ResourceNotFound", "no such operation")
        if op["polls_left"] > 1:
            op["polls_left"] -= 1
            return None
        op["polls_left"] = 0
        return op

    def _aad_claims(self, token, audiences):
        claims = self.state.verify(token or "")
        if claims is None or claims.get("aud") not in audiences or claims.get("tid") != TENANT:
            return None
        return claims

    # ---- the registry's token endpoints -------------------------------------------------
    def _exchange(self, body):
        s = self.state
        form = self._form(body)
        one = lambda k: (form.get(k) or [""])[0]
        if one("grant_type") != "access_token":
            return 400, {"errors": [{"code": "UNSUPPORTED", "message": "grant_type must be access_token"}]}
        if one("service") != s.service:
            return 400, {"errors": [{"code": "UNAUTHORIZED", "message": f"service must be {s.service}"}]}
        audiences = (ACR_AUDIENCE,) if s.arm_audience_disabled else (ACR_AUDIENCE,) + ARM_AUDIENCES
        claims = self._aad_claims(one("access_token"), audiences)
        if claims is None:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "the access token is invalid, expired, or for another audience"}]}
        if one("tenant") and one("tenant") != claims["tid"]:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "the tenant does not match the access token"}]}
        now = int(time.time())
        refresh = s.sign({"jti": str(uuid.uuid4()), "sub": claims["oid"], "nbf": now, "iat": now, "exp": now + s.refresh_lifetime,
                          "iss": "Azure Container Registry", "aud": s.service, "version": "1.0", "grant_type": "refresh_token",
                          "tenant": claims["tid"], "permissions": {"actions": ["*"], "notActions": []}, "roles": []}, sdk_safe=True)
        return 200, {"refresh_token": refresh}

    @staticmethod
    def _scopes(values):
        out = []
        for scope in values:
            for part in scope.split(" "):
                kind, _, rest = part.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind not in ("repository", "registry") or not name or not actions:
                    raise Reply(400, {"errors": [{"code": "UNSUPPORTED", "message": f"invalid scope {part!r}"}]})
                out.append({"type": kind, "name": name, "actions": actions.split(",")})
        return out

    def _honoured(self, principal, access):
        """The scopes asked, each with only the actions the principal's role
        assignments allow on its repository (as ACR issues them)."""
        out = []
        for entry in access:
            if entry["type"] == "repository":
                actions = [a for a in entry["actions"] if a in TOKEN_ACTIONS and self.state.may(principal, TOKEN_ACTIONS[a], entry["name"])]
                if "*" in entry["actions"] and all(self.state.may(principal, x, entry["name"]) for x in TOKEN_ACTIONS.values()):
                    actions.append("*")
                entry = {**entry, "actions": actions}
            out.append(entry)
        return out

    def _acr_token(self, method, query, body):
        s = self.state
        now = int(time.time())
        if method == "GET":
            # Basic auth of a scope-map token (docker login with token name and password).
            auth = self.headers.get("Authorization", "")
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":") if auth.startswith("Basic ") else ("", "", "")
            except Exception:
                user, password = "", ""
            if user == "00000000-0000-0000-0000-000000000000":
                # docker login with the refresh token as the password (reference 2.2).
                claims = s.verify(password)
                if claims is None or claims.get("grant_type") != "refresh_token" or claims.get("aud") != s.service or claims["iat"] < s.refresh_not_before:
                    return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]}
                token = s.sign({"jti": str(uuid.uuid4()), "sub": claims["sub"], "nbf": now, "iat": now, "exp": now + s.access_lifetime,
                                "iss": "Azure Container Registry", "aud": s.service, "version": "1.0", "grant_type": "access_token",
                                "access": self._honoured(claims["sub"], self._scopes(query.get("scope", [])))}, sdk_safe=True)
                return 200, {"access_token": token}
            stored = next((p for p in s.passwords.get(user, {}).values() if hmac.compare_digest(p[0], password)), None)
            if not stored or not hmac.compare_digest(stored[0], password) or stored[1] <= time.time() or s.tokens.get(user, {}).get("properties", {}).get("status") != "enabled":
                return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]}
            scope_map = s.scope_maps[s.tokens[user]["properties"]["scopeMapId"].rsplit("/", 1)[1]]
            allowed = scope_map["properties"]["actions"]
            access = []
            for entry in self._scopes(query.get("scope", [])):
                granted = [a for a in entry["actions"] if any(
                    x == f"repositories/{entry['name']}/{m}" for m in {"pull": ["content/read"], "push": ["content/write"], "delete": ["content/delete"], "metadata_read": ["metadata/read"]}.get(a, []) for x in allowed)]
                access.append({**entry, "actions": granted})
            token = s.sign({"jti": str(uuid.uuid4()), "sub": user, "nbf": now, "iat": now, "exp": now + s.access_lifetime,
                            "iss": "Azure Container Registry", "aud": s.service, "version": "1.0", "grant_type": "access_token", "access": access}, sdk_safe=True)
            return 200, {"access_token": token}
        form = self._form(body)
        one = lambda k: (form.get(k) or [""])[0]
        if one("grant_type") != "refresh_token" or one("service") != s.service:
            return 400, {"errors": [{"code": "UNSUPPORTED", "message": "grant_type must be refresh_token for this service"}]}
        claims = s.verify(one("refresh_token"))
        if claims is None or claims.get("grant_type") != "refresh_token" or claims.get("aud") != s.service or claims["iat"] < s.refresh_not_before:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "the refresh token is invalid or expired"}]}
        access = self._honoured(claims["sub"], self._scopes(form.get("scope", [])))
        token = s.sign({"jti": str(uuid.uuid4()), "sub": claims["sub"], "nbf": now, "iat": now, "exp": now + s.access_lifetime,
                        "iss": "Azure Container Registry", "aud": s.service, "version": "1.0", "grant_type": "access_token",
                        "access": access}, sdk_safe=True)
        return 200, {"access_token": token}

    # ---- data plane -------------------------------------------------------------------
    def _challenge(self, name, action, error=None):
        s = self.state
        scope = f'repository:{name}:{action}' if name else None
        value = f'Bearer realm="{s.base}/oauth2/token",service="{s.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        detail = [{"Type": "repository", "Name": name, "Action": action}] if name else []
        raise Reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required, visit https://aka.ms/acr/authorization for more information.", "detail": detail}]},
                    [("WWW-Authenticate", value)])

    def _authorize(self, name, action):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            self._challenge(name, action)
        claims = self.state.verify(auth[7:])
        if claims is None or claims.get("grant_type") != "access_token" or claims.get("aud") != self.state.service:
            self._challenge(name, action, "invalid_token")
        if name is None:
            return
        for entry in claims.get("access", []):
            if entry["type"] == "repository" and entry["name"] == name and (action in entry["actions"] or "*" in entry["actions"]):
                return
        self._challenge(name, action, "insufficient_scope")

    def _acr_v1(self, method, name):
        s = self.state
        action = {"GET": "metadata_read", "DELETE": "delete"}.get(method)
        if action is None:
            return 405, {"errors": [{"code": "UNSUPPORTED", "message": "method not allowed"}]}
        self._authorize(name, action)
        repo = s.repositories.get(name)
        if repo is None:
            return 404, {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry", "detail": {"name": name}}]}
        if method == "GET":
            return 200, {"registry": s.service, "imageName": name, "createdTime": repo["createdTime"], "lastUpdateTime": repo["lastUpdateTime"],
                         "manifestCount": len(repo["manifests"]), "tagCount": len(repo["tags"]),
                         "changeableAttributes": {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True, "listEnabled": True}}
        del s.repositories[name]
        return 202, {"manifestsDeleted": sorted(repo["manifests"]), "tagsDeleted": sorted(repo["tags"])}

    def _v2(self, method, rest, query, body):
        s = self.state
        for kind in ("/manifests/", "/blobs/uploads/", "/blobs/"):
            if kind in rest:
                name, _, ref = rest.partition(kind)
                name = urllib.parse.unquote(name)  # the SDKs send "team-a%2Fweb"
                break
        else:
            return 404, {"errors": [{"code": "NAME_INVALID", "message": "invalid path"}]}
        write = method in ("PUT", "POST", "PATCH", "DELETE")
        self._authorize(name, "push" if write else "pull")
        repo = self._repo(name, create=write)
        if kind == "/manifests/":
            if method in ("GET", "HEAD"):
                digest = repo and (repo["tags"].get(ref) or (ref if ref in repo["manifests"] else None))
                if not digest:
                    return 404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
                return 200, repo["manifests"][digest], [("Docker-Content-Digest", digest)], "application/vnd.oci.image.manifest.v1+json"
            if method == "PUT":
                digest = "sha256:" + hashlib.sha256(body).hexdigest()
                repo["manifests"][digest] = body
                if not ref.startswith("sha256:"):
                    repo["tags"][ref] = digest
                repo["lastUpdateTime"] = rfc3339(time.time())
                return 201, None, [("Docker-Content-Digest", digest), ("Location", f"/v2/{name}/manifests/{digest}")]
        if kind == "/blobs/uploads/":
            if method == "POST":
                upload = str(uuid.uuid4())
                s.uploads[upload] = b""
                return 202, None, [("Location", f"/v2/{name}/blobs/uploads/{upload}"), ("Range", "0-0")]
            if ref not in s.uploads:
                return 404, {"errors": [{"code": "BLOB_UPLOAD_UNKNOWN", "message": "upload unknown"}]}
            s.uploads[ref] += body
            if method == "PATCH":
                return 202, None, [("Location", f"/v2/{name}/blobs/uploads/{ref}"), ("Range", f"0-{len(s.uploads[ref]) - 1}")]
            data = s.uploads.pop(ref)
            digest = (query.get("digest") or [""])[0]
            if digest != "sha256:" + hashlib.sha256(data).hexdigest():
                return 400, {"errors": [{"code": "DIGEST_INVALID", "message": "digest does not match"}]}
            repo["blobs"][digest] = data
            return 201, None, [("Docker-Content-Digest", digest), ("Location", f"/v2/{name}/blobs/{digest}")]
        if kind == "/blobs/":
            if method in ("GET", "HEAD"):
                if not repo or ref not in repo["blobs"]:
                    return 404, {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]}
                return 200, repo["blobs"][ref], [("Docker-Content-Digest", ref)], "application/octet-stream"
        return 405, {"errors": [{"code": "UNSUPPORTED", "message": "unsupported"}]}

    # ---- ARM --------------------------------------------------------------------------
    def _arm_error(self, status, code, message):
        raise Reply(status, {"error": {"code": code, "message": message}})

    def _arm(self, method, path, query, body):
        s = self.state
        auth = self.headers.get("Authorization", "")
        claims = self._aad_claims(auth[7:] if auth.startswith("Bearer ") else "", ARM_AUDIENCES)
        if claims is None:
            raise Reply(401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid or not for Azure Resource Manager."}},
                        [("WWW-Authenticate", f'Bearer authorization_uri="{s.base}/{TENANT}", error="invalid_token"')])
        version = (query.get("api-version") or [""])[0]
        marker = "/providers/microsoft.authorization/roleassignments"
        if marker in path.lower():
            at = path.lower().index(marker)
            scope, rest = path[:at], path[at + len(marker):]
            if version not in AUTHORIZATION_API_VERSIONS:
                self._arm_error(400, "MissingApiVersionParameter" if not version else "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")
            return self._role_assignments(method, scope, rest.strip("/"), query, body, claims)
        if version not in API_VERSIONS:
            self._arm_error(400, "MissingApiVersionParameter" if not version else "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")
        registry_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}"
        if path.lower().startswith("/subscriptions/") and not path.startswith(registry_id):
            self._arm_error(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
        rest = path[len(registry_id):]
        data = json.loads(body or b"{}") if body else {}
        if rest == "" and method == "GET":
            properties = {"loginServer": f"{REGISTRY}.azurecr.io", "provisioningState": "Succeeded"}
            if version >= "2025-11-01":
                properties["roleAssignmentMode"] = s.role_assignment_mode
            return 200, {"id": registry_id, "name": REGISTRY, "type": "Microsoft.ContainerRegistry/registries", "location": "westeurope",
                         "sku": {"name": "Premium", "tier": "Premium"}, "properties": properties}
        parts = rest.strip("/").split("/")
        if len(parts) == 2 and parts[0] in ("scopeMaps", "tokens"):
            kind, name = parts
            store = s.scope_maps if kind == "scopeMaps" else s.tokens
            if not (5 <= len(name) <= 50) or not all(c.isalnum() or c in "-_" for c in name):
                self._arm_error(400, "InvalidParameter", f"The {kind} name '{name}' must be 5 to 50 letters, digits, '-' or '_'.")
            resource_id = f"{registry_id}/{kind}/{name}"
            if method == "GET":
                if name not in store:
                    self._arm_error(404, "ResourceNotFound", f"The Resource '{resource_id}' was not found.")
                return 200, store[name]
            if method == "PUT":
                props = data.get("properties") or {}
                if kind == "scopeMaps":
                    actions = props.get("actions") or []
                    for a in actions:
                        parts_a = a.split("/")
                        if parts_a[0] != "repositories" or "/".join(parts_a[-2:]) not in SCOPE_ACTIONS or len(parts_a) < 4:
                            self._arm_error(400, "InvalidScopeMapAction", f"'{a}' is not a valid scope map action.")
                    resource = {"id": resource_id, "name": name, "type": "Microsoft.ContainerRegistry/registries/scopeMaps",
                                "properties": {"description": props.get("description", ""), "type": "UserDefined", "actions": actions,
                                               "creationDate": rfc3339(time.time(), 6), "provisioningState": "Succeeded"}}
                else:
                    scope_map_id = props.get("scopeMapId", "")
                    if scope_map_id.rsplit("/", 1)[-1] not in s.scope_maps or not scope_map_id.startswith(registry_id + "/scopeMaps/"):
                        self._arm_error(400, "InvalidScopeMapId", f"The scope map '{scope_map_id}' does not exist.")
                    resource = {"id": resource_id, "name": name, "type": "Microsoft.ContainerRegistry/registries/tokens",
                                "properties": {"scopeMapId": scope_map_id, "status": props.get("status", "enabled"),
                                               "creationDate": rfc3339(time.time(), 6), "provisioningState": "Succeeded", "credentials": {}}}
                created = name not in store
                store[name] = resource
                if kind == "tokens" and s.lro_style != "location" and s.lro_polls > 0:
                    # ARM creates tokens asynchronously: the resource, and where to watch it.
                    op = secrets.token_hex(8)
                    s.operations[op] = {"polls_left": s.lro_polls, "result": None}
                    status_url = f"{s.base}{registry_id}/operationStatuses/{op}?api-version={version}"
                    return (201 if created else 200), {**resource, "properties": {**resource["properties"], "provisioningState": "Creating"}}, \
                        [("Azure-AsyncOperation", status_url), ("Retry-After", "0")]
                return (201 if created else 200), resource
        if rest == "/generateCredentials" and method == "POST":
            token_id = data.get("tokenId", "")
            token = token_id.rsplit("/", 1)[-1]
            if token not in s.tokens or token_id != f"{registry_id}/tokens/{token}":
                self._arm_error(400, "InvalidTokenId", f"The token '{token_id}' does not exist.")
            password_name = data.get("name", "password1")
            if password_name not in ("password1", "password2"):
                self._arm_error(400, "InvalidParameter", "name must be password1 or password2")
            try:
                expiry = datetime.fromisoformat(data["expiry"].replace("Z", "+00:00")).timestamp()
            except Exception:
                self._arm_error(400, "InvalidParameter", "expiry must be an RFC 3339 time")
            if expiry <= time.time():
                self._arm_error(400, "InvalidParameter", "expiry must be in the future")
            value = secrets.token_urlsafe(32)
            now = time.time()
            for entry in s.password_log:
                if entry["token"] == token and entry["slot"] == password_name and entry["replaced"] is None:
                    entry["replaced"] = now
            s.password_log.append({"token": token, "slot": password_name, "created": now, "replaced": None,
                                   "fingerprint": hashlib.sha256(value.encode()).hexdigest()[:16]})
            s.passwords.setdefault(token, {})[password_name] = (value, expiry)
            # ARM lists a token's passwords (names and expiries, never values).
            s.tokens[token]["properties"]["credentials"] = {"passwords": [
                {"name": slot, "expiry": rfc3339(e, 0), "creationTime": rfc3339(now, 6)} for slot, (_, e) in sorted(s.passwords[token].items())]}
            result = {"username": token, "passwords": [{"name": password_name, "value": value, "creationTime": rfc3339(time.time(), 6), "expiry": rfc3339(expiry, 0)}]}
            op = secrets.token_hex(8)
            s.operations[op] = {"polls_left": s.lro_polls, "result": result}
            if s.lro_polls == 0:
                return 200, result
            headers = [("Retry-After", "0")]
            if s.lro_style in ("location", "both"):
                headers.append(("Location", f"{s.base}{registry_id}/operationResults/{op}?api-version={version}"))
            if s.lro_style in ("async-operation", "both"):
                headers.append(("Azure-AsyncOperation", f"{s.base}{registry_id}/operationStatuses/{op}?api-version={version}"))
            return 202, None, headers
        if len(parts) == 2 and parts[0] == "operationStatuses" and method == "GET":
            op = self._operation(parts[1])
            if op is None:
                return 200, {"id": path, "status": "InProgress"}
            status = {"id": path, "status": "Succeeded"}
            if op["result"] is not None and s.lro_style == "async-operation":
                # A POST's result without a Location: ARM names it in the status.
                status["resourceLocation"] = f"{s.base}{registry_id}/operationResults/{parts[1]}?api-version={version}"
            return 200, status
        if len(parts) == 2 and parts[0] == "operationResults" and method == "GET":
            op = self._operation(parts[1])
            if op is None:
                return 202, None, [("Location", f"{s.base}{path}?api-version={version}"), ("Retry-After", "0")]
            return 200, op["result"]
        self._arm_error(404, "ResourceNotFound", f"The Resource '{path}' was not found.")


    def _role_assignments(self, method, scope, name, query, body, claims):
        """Reference 2.7: role assignments at `scope` (the registry, its resource
        group or the subscription)."""
        s = self.state
        known = (REGISTRY_ID, f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}", f"/subscriptions/{SUBSCRIPTION}")
        if scope.lower() not in (k.lower() for k in known):
            self._arm_error(404, "ResourceNotFound", f"The scope '{scope}' was not found.")
        scope = next(k for k in known if k.lower() == scope.lower())

        def denied(action):
            self._arm_error(403, "AuthorizationFailed",
                            f"The client '{claims['oid']}' with object id '{claims['oid']}' does not have authorization to perform action "
                            f"'Microsoft.Authorization/roleAssignments/{action}' over scope '{scope}/providers/Microsoft.Authorization/roleAssignments/{name}' "
                            "or the scope is invalid. If access was recently granted, please refresh your credentials.")

        if not name:
            if method != "GET":
                self._arm_error(405, "MethodNotAllowed", "only GET lists role assignments")
            return self._list_role_assignments(scope, query)
        if "/" in name:
            self._arm_error(404, "ResourceNotFound", f"The Resource '{name}' was not found.")
        try:
            valid_name = str(uuid.UUID(name)) == name.lower()
        except ValueError:
            valid_name = False
        if not valid_name:
            self._arm_error(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.")
        existing = s.role_assignments.get(name.lower())
        if existing is not None and existing["properties"]["scope"].lower() != scope.lower():
            existing = None
        if method == "GET":
            if existing is None:
                self._arm_error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
            return 200, existing
        writer = claims.get("oid") == CLIENT_ID and not s.role_assignment_write_denied
        if method == "DELETE":
            if not writer:
                denied("delete")
            if existing is None:
                return 204, None
            del s.role_assignments[name.lower()]
            return 200, existing
        if method != "PUT":
            self._arm_error(405, "MethodNotAllowed", f"{method} is not allowed on a role assignment")
        if not writer:
            denied("write")
        try:
            props = json.loads(body or b"{}").get("properties")
        except ValueError:
            props = None
        if not isinstance(props, dict):
            self._arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
        role = str(props.get("roleDefinitionId") or "")
        if not role.lower().startswith(ROLE_DEFINITIONS.lower()) or role.rsplit("/", 1)[-1].lower() not in ROLES:
            self._arm_error(400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{role.rsplit('/', 1)[-1]}' does not exist.")
        principal = str(props.get("principalId") or "").lower()
        if principal not in s.apps.values():
            self._arm_error(400, "PrincipalNotFound", f"Principal {principal.replace('-', '')} does not exist in the directory {TENANT}. Check that you have the correct principal ID.")
        if props.get("principalType") not in (None, "ServicePrincipal"):
            self._arm_error(400, "UnmatchedPrincipalType", f"The PrincipalId '{principal}' has type 'ServicePrincipal' , which is different from specified PrincipalType '{props.get('principalType')}'.")
        if props.get("scope") not in (None, scope):
            self._arm_error(400, "InvalidRoleAssignmentScope", "The scope in the body does not match the scope of the request.")
        condition = props.get("condition")
        if condition is not None:
            if props.get("conditionVersion") != "2.0":
                self._arm_error(400, "InvalidConditionVersion", "The condition version must be 2.0.")
            try:
                Condition(condition)
            except (ValueError, IndexError) as e:
                self._arm_error(400, "InvalidCondition", f"The condition is not valid: {e}.")
        props = {**props, "principalId": principal, "roleDefinitionId": ROLE_DEFINITIONS + role.rsplit("/", 1)[-1].lower()}
        if existing is not None:
            old = existing["properties"]
            if old["principalId"] != principal or old["roleDefinitionId"].lower() != props["roleDefinitionId"].lower():
                self._arm_error(400, "RoleAssignmentUpdateNotPermitted",
                                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
        squeeze = lambda c: "".join((c or "").split())
        for other in s.role_assignments.values():
            o = other["properties"]
            if other["name"] != name.lower() and o["scope"] == scope and o["principalId"] == principal \
                    and o["roleDefinitionId"].lower() == props["roleDefinitionId"].lower() and squeeze(o.get("condition")) == squeeze(condition):
                self._arm_error(409, "RoleAssignmentExists", f"The role assignment already exists. The ID of the existing role assignment is {other['name'].replace('-', '')}.")
        now = rfc3339(time.time())
        resource = role_assignment(name.lower(), scope, props, now)
        if existing is not None:
            resource["properties"]["createdOn"] = existing["properties"]["createdOn"]
        s.role_assignments[name.lower()] = resource
        return (200 if existing is not None else 201), resource

    def _list_role_assignments(self, scope, query):
        s = self.state
        text = (query.get("$filter") or [""])[0].strip()
        at_scope, principal = False, None
        for clause in [c.strip() for c in text.split(" and ")] if text else []:
            if clause == "atScope()":
                at_scope = True
            elif clause.startswith("principalId eq '") and clause.endswith("'"):
                principal = clause[len("principalId eq '"):-1].lower()
            elif clause.startswith("assignedTo('") and clause.endswith("')"):
                principal = clause[len("assignedTo('"):-2].lower()
            else:
                self._arm_error(400, "UnsupportedQuery", f"The filter '{text}' is not supported.")

        def matches(a):
            own = a["properties"]["scope"].lower().rstrip("/") + "/"
            here = scope.lower().rstrip("/") + "/"
            related = here.startswith(own) if at_scope else (here.startswith(own) or own.startswith(here))
            return related and (principal is None or a["properties"]["principalId"] == principal)

        found = sorted((a for a in s.role_assignments.values() if matches(a)), key=lambda a: a["name"])
        start = int((query.get("$skipToken") or ["0"])[0] or 0)
        page = found[start:start + s.role_assignment_page_size]
        answer = {"value": page}
        if start + s.role_assignment_page_size < len(found):
            params = urllib.parse.urlencode({"api-version": query["api-version"][0], "$filter": text,
                                             "$skipToken": str(start + s.role_assignment_page_size)}, safe="()'$")
            answer["nextLink"] = f"{s.base}{scope}/providers/Microsoft.Authorization/roleAssignments?{params}"
        return 200, answer


def main():
    serve(Handler, State, lambda s: {"tenantId": TENANT, "subscriptionId": SUBSCRIPTION, "clientId": CLIENT_ID, "clientSecret": s.client_secret,
                                     "registryName": REGISTRY, "resourceGroup": RESOURCE_GROUP, "service": s.service})


if __name__ == "__main__":
    main()
