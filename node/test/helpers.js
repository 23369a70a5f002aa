'use strict'
// Shared by the tests: the repository's vectors, and servers the tests start on free
// loopback ports (moto with signature checks, Debian's docker-registry, the Rust ECR
// stub server), stopped when the test ends.
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')

const REPO = path.resolve(__dirname, '..', '..')
const PYTHON = process.env.PYTHON || 'python3'
const TARGET = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target')
// Every secret the suite configures is one of these: scripts/test scans what the
// suite printed for them (tests/canary_scan.py).
const CANARIES = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'canaries.json'), 'utf8')).secrets

function vectors () {
  const dir = path.join(REPO, 'tests', 'vectors')
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }))
}

/** Spawns a server that prints one JSON line when ready; stops it when `t` ends. */
async function readyChild (t, command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] })
  t.after(() => { child.stdin.end(); child.kill() })
  const lines = readline.createInterface({ input: child.stdout })
  const line = await new Promise((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before it was ready`)))
  })
  return JSON.parse(line)
}

async function startMoto (t) {
  const ready = await readyChild(t, PYTHON, [path.join(REPO, 'tests', 'servers', 'moto_server.py')])
  const endpoint = `http://127.0.0.1:${ready.port}`
  const config = (prefix = 'acme', binding = {}) => ({
    name: 'artifacts',
    binding: { service: 'ecr', repositoryPrefix: prefix, unscopedCredentials: true, ...binding },
    aws: {
      region: 'us-east-1',
      accountId: '123456789012',
      credentials: { accessKeyId: ready.accessKeyId, secretAccessKey: ready.secretAccessKey },
      endpoints: { ecr: endpoint, sts: endpoint }
    }
  })
  const boto3 = (snippet, region = 'us-east-1') => execFileSync(PYTHON, ['-c',
    `import boto3, json\nkw = dict(endpoint_url='${endpoint}', region_name='${region}', aws_access_key_id='${ready.accessKeyId}', aws_secret_access_key='${ready.secretAccessKey}')\necr = boto3.client('ecr', **kw)\niam = boto3.client('iam', **kw)\n${snippet}`], { encoding: 'utf8' })
  return { endpoint, config, boto3 }
}

/** The GAR contract server (tests/servers/gar_server.py), a config for it, and its control API. */
async function startGar (t) {
  const ready = await readyChild(t, PYTHON, [path.join(REPO, 'tests', 'servers', 'gar_server.py')])
  const endpoint = `http://127.0.0.1:${ready.port}`
  const config = (repositoryName = 'images', binding = {}) => ({
    name: 'artifacts',
    binding: { service: 'gar', repositoryName, unscopedCredentials: true, ...binding },
    gcp: {
      projectId: ready.projectId,
      region: ready.location,
      credentials: ready.serviceAccountKey,
      endpoints: { artifactRegistry: endpoint, iamCredentials: endpoint, oauth2: `${endpoint}/token` }
    }
  })
  const control = async (p, body) => {
    const r = await fetch(endpoint + p, body === undefined
      ? {}
      : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    return r.json()
  }
  return { endpoint, config, control }
}

/** The ACR contract server (tests/servers/acr_server.py), a config for it, and its control API. */
async function startAcr (t) {
  const ready = await readyChild(t, PYTHON, [path.join(REPO, 'tests', 'servers', 'acr_server.py')])
  const endpoint = `http://127.0.0.1:${ready.port}`
  const config = (binding = {}) => ({
    name: 'artifacts',
    binding: { service: 'acr', registryName: ready.registryName, resourceGroupName: ready.resourceGroup, repositoryPrefix: 'team-a', ...binding },
    azure: {
      tenantId: ready.tenantId,
      subscriptionId: ready.subscriptionId,
      credentials: { clientId: ready.clientId, clientSecret: ready.clientSecret },
      endpoints: { activeDirectory: endpoint, resourceManager: endpoint, containerRegistry: endpoint }
    }
  })
  const control = async (p, body) => {
    const r = await fetch(endpoint + p, body === undefined
      ? {}
      : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    return r.json()
  }
  return { endpoint, host: endpoint.slice('http://'.length), config, control }
}

async function startStub (t, delayMs = 0) {
  const bin = process.env.ARTIFACT_REGISTRY_STUB || path.join(TARGET, 'release', 'ecr-stub-server')
  const ready = await readyChild(t, bin, ['--delay-ms', String(delayMs)])
  return `http://127.0.0.1:${ready.port}`
}

/** A loopback server that accepts connections and never answers; its URL. */
async function blackHole (t) {
  const sockets = []
  const server = net.createServer((s) => sockets.push(s))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { sockets.forEach((s) => s.destroy()); server.close() })
  return `http://127.0.0.1:${server.address().port}`
}

/** What the stub server saw: `maxInFlight` (requests held at once) and `requests`. */
async function stubStats (endpoint) {
  const response = await fetch(`${endpoint}/`, { method: 'POST', headers: { 'X-Amz-Target': 'StubStats' }, body: '{}' })
  return response.json()
}

function stubConfig (endpoint) {
  return {
    name: 'artifacts',
    binding: { service: 'ecr', repositoryPrefix: 'acme', unscopedCredentials: true },
    aws: {
      region: 'us-east-1',
      accountId: '123456789012',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: CANARIES.stubSecretAccessKey },
      endpoints: { ecr: endpoint, sts: endpoint }
    }
  }
}

function freePort () {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Debian's docker-registry with htpasswd Basic auth (or, with `password` null, open). */
async function startDockerRegistry (t, password = CANARIES.registryPassword) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'artifact-registry-node-'))
  const user = 'deployer'
  const addr = `127.0.0.1:${await freePort()}`
  let auth = ''
  if (password !== null) {
    fs.writeFileSync(path.join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', user, password]))
    auth = `auth:\n  htpasswd:\n    realm: tests\n    path: ${dir}/htpasswd\n`
  }
  fs.writeFileSync(path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\n` +
    `http:\n  addr: ${addr}\n${auth}`)
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' })
  t.after(() => { child.kill(); fs.rmSync(dir, { recursive: true, force: true }) })
  const [host, port] = addr.split(':')
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(Number(port), host, () => { s.end(); resolve(true) }).on('error', () => resolve(false))
    })
    if (up) break
    if (i > 400) throw new Error('docker-registry did not start')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    addr,
    user,
    password,
    config: { name: 'artifacts', binding: { service: 'local', registryUrl: addr, unscopedCredentials: true }, local: { credentials: { username: user, password } } }
  }
}

module.exports = { REPO, PYTHON, CANARIES, vectors, startMoto, startGar, startAcr, startStub, stubConfig, stubStats, blackHole, startDockerRegistry }
