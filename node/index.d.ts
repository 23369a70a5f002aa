/**
 * artifact-registry-bindings: container-image repositories and short-lived registry
 * credentials on AWS ECR, Google Artifact Registry, Azure Container Registry and
 * local OCI registries, through one API. The contract is `docs/API.md`.
 */

/** The contract's error codes. */
export type ErrorCode =
  | 'invalid-input' | 'not-found' | 'already-exists' | 'access-denied' | 'not-supported'
  | 'conflict' | 'throttled' | 'timeout' | 'transport' | 'provider'

/** A failed operation. Its message says what to do, and never holds a secret. */
export declare class ArtifactRegistryError extends Error {
  constructor(fields: { code: ErrorCode; message: string; httpStatus?: number | null; providerCode?: string | null })
  /** The contract's error code. */
  readonly code: ErrorCode
  /** The provider's HTTP status, when a provider answered. */
  readonly httpStatus: number | null
  /** The provider's own error code, e.g. `RepositoryNotFoundException`. */
  readonly providerCode: string | null
}

/** A repository; `name` is its routable name: pass it back to any operation as is. */
export interface Repository {
  name: string
  /** What `docker pull` takes, when the provider has one. */
  uri: string | null
  /** RFC 3339 creation time, when the provider reports it. */
  createdAt: string | null
}

/** Registry credentials. `util.inspect` shows the password as `***`. */
export interface Credentials {
  authMethod: 'basic' | 'bearer'
  /** `AWS` on ECR. */
  username: string
  /** The password or token: a secret. */
  password: string
  /** RFC 3339 expiry, when known. */
  expiresAt: string | null
}

/** Workload kinds a grant is for. */
export type ServiceType = 'worker'

/** An AWS cross-account grant. */
export interface AwsCrossAccountAccess {
  platform: 'aws'
  /** 12-digit account ids. */
  accountIds?: string[]
  /** Regions (for `worker`: where Lambda functions run; empty is any). */
  regions?: string[]
  allowedServiceTypes?: ServiceType[]
  /** IAM role ARNs. */
  roleArns?: string[]
}

/** A GCP cross-account grant. */
export interface GcpCrossAccountAccess {
  platform: 'gcp'
  projectNumbers?: string[]
  allowedServiceTypes?: ServiceType[]
  serviceAccountEmails?: string[]
}

/**
 * An Azure cross-account grant: pull on one repository of an ACR registry in ABAC
 * mode, as one Container Registry Repository Reader role assignment per principal
 * whose condition names the repository.
 */
export interface AzureCrossAccountAccess {
  platform: 'azure'
  /** Entra object ids (GUIDs) of service principals or managed identities in the registry's tenant. */
  principalIds?: string[]
  /** Must be empty: an Azure workload pulls with its own managed identity (grant its principal id). */
  allowedServiceTypes?: ServiceType[]
}

/** A cross-account grant. */
export type CrossAccountAccess = AwsCrossAccountAccess | GcpCrossAccountAccess | AzureCrossAccountAccess

/** The grants a repository has now (every list present). */
export interface CrossAccountPermissions {
  access: Required<AwsCrossAccountAccess> | Required<GcpCrossAccountAccess> | Required<AzureCrossAccountAccess>
  /** When the grants last changed, when the provider says. */
  lastUpdated: string | null
}

/** Which credentials to generate. */
export type Permissions = 'pull' | 'push-pull'

/** A request handed to a custom transport. */
export interface TransportRequest {
  method: string
  /** Absolute URL. */
  url: string
  /** Header pairs, in order (signatures cover them as given). */
  headers: Array<[string, string]>
  body: Buffer
  /**
   * How long this request may take, in whole milliseconds: the configuration's
   * `timeouts.requestSeconds`, cut to what is left of the operation's deadline. A
   * transport should abort after it (e.g. `AbortSignal.timeout(request.timeoutMs)`)
   * and throw a `TimeoutError`.
   */
  timeoutMs: number
}

/** What a custom transport returns. */
export interface TransportResponse {
  status: number
  /** An object, `[name, value]` pairs, or anything iterable of pairs (e.g. fetch's `Headers`). */
  headers?: Record<string, string> | Array<[string, string]> | Iterable<[string, string]> | null
  body?: Buffer | Uint8Array | ArrayBuffer | string | null
}

/** Options of `ArtifactRegistry`. */
export interface ArtifactRegistryOptions {
  /**
   * Sends each request through your own HTTP stack (e.g. `fetch`). A thrown error is a
   * transport failure (retried, then `transport`); a `TimeoutError` is a `timeout`.
   */
  transport?: (request: TransportRequest) => Promise<TransportResponse> | TransportResponse
  /**
   * Milliseconds since the epoch, like `Date.now` (for tests): requests are signed
   * and expiries computed with it, with or without a `transport`. Deadlines are
   * measured on `performance.now()` whatever the clock says.
   */
  clock?: () => number
}

/** A JSON configuration document (see `docs/API.md`). */
export type Config = Record<string, unknown>

/**
 * One binding. Every operation returns a Promise; the event loop never blocks.
 *
 * What a repository is depends on the provider. ECR: an ECR repository
 * `{prefix}-{logical}`, grants in its repository policy. Google Artifact Registry: an
 * image path inside the binding's Artifact Registry repository
 * (`{projectId}/{repositoryName}/{logical}`); `createRepository` makes sure that
 * repository exists, `deleteRepository` really deletes the image (package, versions,
 * tags), grants live in the Artifact Registry repository's IAM policy and so cover
 * every image of the binding, and credentials impersonate the pull or push service
 * account (username `oauth2accesstoken`). Azure Container Registry: an image path in the
 * registry (`{prefix}/{logical}`); `createRepository` makes no call, `getRepository`
 * answers `createdAt: null` until something is pushed, `deleteRepository` really
 * deletes, grants are not supported, and credentials are a repository-scoped ACR token
 * (bearer, with its real expiry) or, with `scopeMapTokens: true`, TTL-exact Basic
 * credentials of a repository-scoped scope-map token. Local registries:
 * `{name}/{logical}`, no grants; `deleteRepository` rejects with `not-supported` when the
 * registry refuses deletes (the images stay).
 */
/** A Kubernetes `Secret` of type `kubernetes.io/dockerconfigjson`, as its manifest. */
export interface ImagePullSecret {
  apiVersion: 'v1'
  kind: 'Secret'
  metadata: { name: string; namespace?: string; annotations?: { 'artifact-registry/expires-at': string } }
  type: 'kubernetes.io/dockerconfigjson'
  data: { '.dockerconfigjson': string }
}

export declare class ArtifactRegistry {
  /** @param config the configuration document, as an object or JSON text */
  constructor(config: Config | string, options?: ArtifactRegistryOptions)
  /** Creates the repository for a logical name (idempotent). */
  createRepository(name: string): Promise<Repository>
  /** Gets a repository by routable name. */
  getRepository(repository: string): Promise<Repository>
  /** Deletes a repository by routable name. */
  deleteRepository(repository: string): Promise<void>
  /** Grants cross-account access, keeping every other grant. */
  addCrossAccountAccess(repository: string, access: CrossAccountAccess): Promise<void>
  /**
   * Revokes cross-account access: takes away every principal `access` names and the
   * worker pairs of the accounts it names (in its regions when it has the worker type and
   * regions, else all), keeping every other grant.
   */
  removeCrossAccountAccess(repository: string, access: CrossAccountAccess): Promise<void>
  /**
   * Where the binding's credentials come from and who they are (on ECR: `source`,
   * `method`, `accessKeyId`, `expiresAt`, `account`, `arn`), resolving them from the
   * environment when the configuration has none. Never a secret.
   */
  describeCredentials(): Promise<Record<string, unknown>>
  /**
   * Reads the grants this binding made, never anyone else's statements, bindings or role assignments.
   * On ECR a statement written by 0.1 (which also let the grantee read and rewrite the
   * policy) is reported as the pull grant that the next add or remove narrows it to.
   */
  getCrossAccountAccess(repository: string): Promise<CrossAccountPermissions>
  /**
   * Generates pull or push-pull credentials for this repository, valid for about `ttlSeconds`.
   *
   * They reach this repository with this permission only: ECR assumes `pullRoleArn` /
   * `pushRoleArn` with a session policy for the repository, GAR impersonates
   * `pullServiceAccountEmail` / `pushServiceAccountEmail`, ACR issues a scope-map token,
   * a local registry a token for the repository. Where the binding configures none of
   * these, the call fails with an invalid-input error saying what to set, unless the
   * binding sets `unscopedCredentials: true` (then the binding's own identity). `expiresAt`
   * is the real expiry, which may differ from the TTL asked for.
   */
  generateCredentials(repository: string, permissions: Permissions, ttlSeconds?: number | null): Promise<Credentials>
  /**
   * A Kubernetes image-pull Secret (`kubernetes.io/dockerconfigjson`) for the
   * registry, holding fresh pull credentials for the repository (scoped as
   * `generateCredentials` scopes them), their expiry in the
   * `artifact-registry/expires-at` annotation: the manifest, ready for a Kubernetes
   * client or `kubectl apply`. `name` must be a DNS subdomain and `namespace` a DNS
   * label (checked before any request); bindings that hand out bearer tokens only
   * are refused, since a Secret holds a login.
   */
  imagePullSecret(repository: string, name: string, options?: { namespace?: string | null; ttlSeconds?: number | null }): Promise<ImagePullSecret>
  /** The registry endpoint. */
  registryEndpoint(): string
  /** The upstream repository prefix. */
  upstreamRepositoryPrefix(): string
}

/** What `signAwsRequest` signs. */
export interface SignAwsRequestInput {
  method: string
  url: string
  headers?: Record<string, string> | Array<[string, string]> | null
  body?: Buffer | Uint8Array | string | null
  region: string
  service: string
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | null
  /** `YYYYMMDDTHHMMSSZ` */
  timestamp: string
}

/**
 * Signs an AWS request with Signature Version 4; returns the headers to send (the
 * given ones plus `X-Amz-Date`, `X-Amz-Security-Token` and `Authorization`).
 */
export declare function signAwsRequest(input: SignAwsRequestInput): Record<string, string>
