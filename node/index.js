'use strict'
/**
 * artifact-registry-bindings: container-image repositories and short-lived registry
 * credentials on AWS ECR, Google Artifact Registry, Azure Container Registry and
 * local OCI registries. The logic lives in a Rust core (shared with the Python
 * package and the WebAssembly component); this file is the Node-shaped surface.
 */
const util = require('node:util')
const native = loadAddon()

/**
 * The platform's addon, through napi's loader; when none fits this machine, an error
 * that names the machine's platform and the ones that have addons.
 */
function loadAddon () {
  try {
    return require('./binding.js')
  } catch (e) {
    const libc = process.platform !== 'linux'
      ? ''
      : (process.report?.getReport?.().header?.glibcVersionRuntime ? '-gnu' : '-musl')
    const error = new Error(
      `artifact-registry-bindings has no addon for this machine (${process.platform}-${process.arch}${libc}). ` +
      'Addons are published for linux-x64-gnu, linux-arm64-gnu, linux-x64-musl and linux-arm64-musl, ' +
      'each as the optional dependency artifact-registry-bindings-<platform>: check that optional dependencies ' +
      'were installed (not --omit=optional) for this platform.'
    )
    error.cause = e
    throw error
  }
}

const ERROR_PREFIX = 'ARTIFACT_REGISTRY_ERROR:'

/** A failed operation: `code` is the contract's error code. */
class ArtifactRegistryError extends Error {
  /** @param {{code: string, message: string, httpStatus?: number|null, providerCode?: string|null}} fields */
  constructor (fields) {
    super(fields.message)
    this.name = 'ArtifactRegistryError'
    this.code = fields.code
    this.httpStatus = fields.httpStatus ?? null
    this.providerCode = fields.providerCode ?? null
  }
}

function rethrow (e) {
  if (e && typeof e.message === 'string' && e.message.startsWith(ERROR_PREFIX)) {
    throw new ArtifactRegistryError(JSON.parse(e.message.slice(ERROR_PREFIX.length)))
  }
  throw e
}

function invalid (message) {
  return new ArtifactRegistryError({ code: 'invalid-input', message, httpStatus: null, providerCode: null })
}

const hideSecrets = {
  [util.inspect.custom] () {
    return `{ authMethod: ${util.inspect(this.authMethod)}, username: ${util.inspect(this.username)}, password: '***', expiresAt: ${util.inspect(this.expiresAt)} }`
  }
}

function credentials (value) {
  // A plain object in the JSON form; only util.inspect is taught to hide the password.
  Object.defineProperty(value, util.inspect.custom, { value: hideSecrets[util.inspect.custom], enumerable: false })
  return value
}

function headerPairs (headers) {
  if (headers == null) return []
  if (Array.isArray(headers)) return headers.map(([k, v]) => [String(k), String(v)])
  if (typeof headers[Symbol.iterator] === 'function') return [...headers].map(([k, v]) => [String(k), String(v)])
  return Object.entries(headers).map(([k, v]) => [k, String(v)])
}

function toBuffer (body) {
  if (body == null) return Buffer.alloc(0)
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  if (Buffer.isBuffer(body)) return body
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return Buffer.from(body)
  throw new TypeError('a body must be a Buffer, Uint8Array, ArrayBuffer or string')
}

function isTimeout (e) {
  return e != null && (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT' ||
    e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT')
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * One binding, from the configuration document (an object in the JSON form, or
 * JSON text). Every operation returns a Promise of a plain object in the JSON form.
 */
class ArtifactRegistry {
  #client
  #transport
  #clock

  /**
   * @param {object|string} config
   * @param {{transport?: (request: object) => Promise<object>|object, clock?: () => number}} [options]
   */
  constructor (config, options = {}) {
    let text
    try {
      text = typeof config === 'string' ? config : JSON.stringify(config)
    } catch (e) {
      throw invalid(`config is not a JSON document: ${e.message}`)
    }
    if (typeof text !== 'string') throw invalid('config must be an object in the JSON form, or JSON text')
    const { transport, clock } = options ?? {}
    if (transport != null && typeof transport !== 'function') throw invalid('options.transport must be a function')
    if (clock != null && typeof clock !== 'function') throw invalid('options.clock must be a function')
    try {
      this.#client = new native.Client(text)
    } catch (e) {
      rethrow(e)
    }
    this.#transport = transport ?? null
    this.#clock = clock ?? null
  }

  /** Creates the repository for a logical name (idempotent). */
  createRepository (name) { return this.#call('create-repository', { name }) }
  /** Gets a repository by routable name. */
  getRepository (repository) { return this.#call('get-repository', { repository }) }
  /** Deletes a repository by routable name. */
  async deleteRepository (repository) { await this.#call('delete-repository', { repository }) }
  /** Grants cross-account access (keeps every other grant). */
  async addCrossAccountAccess (repository, access) { await this.#call('add-cross-account-access', { repository, access }) }
  /** Revokes cross-account access (keeps every other grant). */
  async removeCrossAccountAccess (repository, access) { await this.#call('remove-cross-account-access', { repository, access }) }
  /** Reads the cross-account grants. */
  getCrossAccountAccess (repository) { return this.#call('get-cross-account-access', { repository }) }
  describeCredentials () { return this.#call('describe-credentials', {}) }
  /** Generates `'pull'` or `'push-pull'` credentials valid for about `ttlSeconds`. */
  async generateCredentials (repository, permissions, ttlSeconds) {
    return credentials(await this.#call('generate-credentials', { repository, permissions, ttlSeconds: ttlSeconds ?? null }))
  }

  /**
   * A Kubernetes image-pull Secret (`kubernetes.io/dockerconfigjson`) holding fresh
   * pull credentials for the repository, as its manifest object.
   */
  async imagePullSecret (repository, name, options = {}) {
    const { namespace = null, ttlSeconds = null } = options ?? {}
    return await this.#call('image-pull-secret', { repository, name, namespace, ttlSeconds })
  }

  /** The registry endpoint. */
  registryEndpoint () { return this.#client.registryEndpoint() }
  /** The upstream repository prefix. */
  upstreamRepositoryPrefix () { return this.#client.upstreamRepositoryPrefix() }

  [util.inspect.custom] () {
    const { service, name, endpoint } = JSON.parse(this.#client.describe())
    return `ArtifactRegistry { service: '${service}', name: '${name}', endpoint: '${endpoint}' }`
  }

  async #call (operation, args) {
    let argsText
    try {
      argsText = JSON.stringify(args)
    } catch (e) {
      throw invalid(`arguments are not JSON: ${e.message}`)
    }
    if (this.#transport === null && this.#clock === null) {
      try {
        return JSON.parse(await this.#client.run(operation, argsText))
      } catch (e) {
        rethrow(e)
      }
    }
    // A user transport or clock: the core's operation, stepped from here (the core
    // decides every retry, wait and deadline; this loop only sends and sleeps).
    const transport = this.#transport ?? ((request) => this.#nativeSend(request))
    const clock = this.#clock ?? Date.now
    const op = this.#client.start(operation, argsText)
    for (;;) {
      const step = JSON.parse(op.step(Number(clock()), performance.now()))
      if (step.send) {
        const { method, url, headers, body, timeoutMs } = step.send
        const request = { method, url, headers, body: Buffer.from(body), timeoutMs }
        let response
        try {
          response = await transport(request)
          op.receive(Number(response.status), headerPairs(response.headers), toBuffer(response.body))
        } catch (e) {
          op.fail(`the transport failed: ${e?.message ?? e}`, isTimeout(e))
        }
      } else if (step.sleepMs !== undefined) {
        await sleep(step.sleepMs)
      } else if ('result' in step) {
        return step.result
      } else {
        throw new ArtifactRegistryError(step.error)
      }
    }
  }

  async #nativeSend ({ method, url, headers, body, timeoutMs }) {
    try {
      return await this.#client.send(method, url, headers, body, timeoutMs ?? undefined)
    } catch (e) {
      const message = String(e?.message ?? e)
      const error = new Error(message.replace(/^(TIMEOUT|TRANSPORT):/, ''))
      if (message.startsWith('TIMEOUT:')) error.name = 'TimeoutError'
      throw error
    }
  }
}

/**
 * Signs an AWS request with Signature Version 4. Returns the headers to send: the
 * given ones plus `X-Amz-Date`, `X-Amz-Security-Token` (with a session token) and
 * `Authorization`. `timestamp` is `YYYYMMDDTHHMMSSZ`.
 */
function signAwsRequest ({ method, url, headers, body, region, service, accessKeyId, secretAccessKey, sessionToken, timestamp }) {
  for (const [name, value] of Object.entries({ method, url, region, service, accessKeyId, secretAccessKey, timestamp })) {
    if (typeof value !== 'string') throw invalid(`signAwsRequest: ${name} must be a string`)
  }
  const given = headerPairs(headers)
  let added
  try {
    added = native.signAwsRequest({ method, url, headers: given, body: toBuffer(body), region, service, accessKeyId, secretAccessKey, sessionToken: sessionToken ?? undefined, timestamp })
  } catch (e) {
    rethrow(e)
  }
  return Object.fromEntries([...given, ...added])
}

module.exports = { ArtifactRegistry, ArtifactRegistryError, signAwsRequest }
