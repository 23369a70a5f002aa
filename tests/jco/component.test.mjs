// The component in a second host: transpiled to JavaScript by jco and run in Node,
// its WASI imports (wasi:http included) from @bytecodealliance/preview2-shim. The
// local provider against Debian's docker-registry and ECR against moto, typed
// errors included, as tests/host/tests/component.rs does under wasmtime.
//
// The component is the one README's test command builds:
// target/wasm32-wasip2/component/artifact_registry_component.wasm (or COMPONENT_WASM).
import test from 'node:test'
import assert from 'node:assert/strict'
import { transpile } from '@bytecodealliance/jco'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(here, '..', '..')
const { blackHole, startMoto, startDockerRegistry, stubConfig } = createRequire(import.meta.url)('../../node/test/helpers.js')
const target = process.env.CARGO_TARGET_DIR ?? path.join(REPO, 'target')
const wasm = process.env.COMPONENT_WASM ?? path.join(target, 'wasm32-wasip2', 'component', 'artifact_registry_component.wasm')

/** Transpiles the component (into this package, so the shim resolves) and imports it. */
async function load () {
  const out = fs.mkdtempSync(path.join(here, '.transpiled-'))
  process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }))
  const { files } = await transpile(fs.readFileSync(wasm), { name: 'artifact_registry' })
  for (const [name, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(out, name)), { recursive: true })
    fs.writeFileSync(path.join(out, name), bytes)
  }
  return import(pathToFileURL(path.join(out, 'artifact_registry.js')))
}

const { registry: { Registry } } = await load()

/** The WIT `result`'s error, which jco throws as a ComponentError with `payload`. */
function errorOf (f) {
  try {
    f()
  } catch (e) {
    assert.ok(e.payload, `not a WIT error: ${e}`)
    return e.payload
  }
  assert.fail('expected an error')
}

test('local provider against docker-registry', async (t) => {
  const reg = await startDockerRegistry(t)
  const r = Registry.open(JSON.stringify(reg.config))
  assert.equal(r.registryEndpoint(), `http://${reg.addr}`)
  const repo = r.createRepository('from-jco')
  assert.equal(repo.name, 'artifacts/from-jco')
  assert.equal(r.getRepository(repo.name).name, repo.name)
  const creds = r.generateCredentials(repo.name, 'push-pull', 900n)
  assert.equal(creds.authMethod, 'basic')
  assert.equal(creds.username, reg.user)
  const denied = errorOf(() => r.addCrossAccountAccess(repo.name, { tag: 'aws', val: { accountIds: ['111111111111'], regions: [], allowedServiceTypes: [], roleArns: [] } }))
  assert.equal(denied.code, 'not-supported')
  r.deleteRepository(repo.name)
  assert.equal(errorOf(() => r.getRepository(repo.name)).code, 'not-found')
  // Bad input is a typed error before any request.
  assert.equal(errorOf(() => r.getRepository('../etc')).code, 'invalid-input')
  assert.equal(errorOf(() => Registry.open('{"name": 1}')).code, 'invalid-input')
})

test('ECR against moto', async (t) => {
  const moto = await startMoto(t)
  const r = Registry.open(JSON.stringify(moto.config('acme')))
  const repo = r.createRepository('from-jco')
  assert.equal(repo.name, 'acme-from-jco')
  assert.match(repo.uri, /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/acme-from-jco$/)
  const grant = { tag: 'aws', val: { accountIds: ['111111111111'], regions: [], allowedServiceTypes: [], roleArns: [] } }
  r.addCrossAccountAccess(repo.name, grant)
  const read = r.getCrossAccountAccess(repo.name)
  assert.deepEqual(read.access.val.accountIds, ['111111111111'])
  assert.match(JSON.parse(moto.boto3(`print(json.dumps(ecr.get_repository_policy(repositoryName='${repo.name}')['policyText']))`)), /111111111111/)
  const creds = r.generateCredentials(repo.name, 'pull', null)
  assert.equal(creds.username, 'AWS')
  r.deleteRepository(repo.name)
  const gone = errorOf(() => r.getRepository(repo.name))
  assert.equal(gone.code, 'not-found')
  assert.equal(gone.providerCode, 'RepositoryNotFoundException')
})

test('a server that never answers is a timeout within the deadline', async (t) => {
  const config = { ...stubConfig(await blackHole(t)), timeouts: { requestSeconds: 0.5, operationSeconds: 2 } }
  const r = Registry.open(JSON.stringify(config))
  const started = performance.now()
  assert.equal(errorOf(() => r.getRepository('acme-app')).code, 'timeout')
  // An upper bound only: the deadline plus a margin for a loaded machine.
  assert.ok(performance.now() - started < 5000, `${performance.now() - started} ms`)
})
