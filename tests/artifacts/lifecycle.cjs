// The installed npm package, as a user runs it: the local provider's lifecycle against
// a docker-registry, and signAwsRequest against the official SigV4 vector get-vanilla.
//
//   node lifecycle.cjs VERSION REGISTRY_ADDR USER PASSWORD SIGV4_VECTOR_DIR
'use strict'
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { ArtifactRegistry, ArtifactRegistryError, signAwsRequest } = require('artifact-registry-bindings')

const [version, addr, user, password, vector] = process.argv.slice(2)
const installed = require.resolve('artifact-registry-bindings')
assert.ok(installed.includes(`${path.sep}node_modules${path.sep}`), `not the installed package: ${installed}`)
assert.equal(require('artifact-registry-bindings/package.json').version, version)

async function main () {
  const registry = new ArtifactRegistry({
    name: 'artifacts',
    binding: { service: 'local', registryUrl: addr, unscopedCredentials: true },
    local: { credentials: { username: user, password } }
  })
  const repo = await registry.createRepository('node')
  assert.equal(repo.name, 'artifacts/node')
  assert.equal((await registry.getRepository(repo.name)).name, repo.name)
  const creds = await registry.generateCredentials(repo.name, 'push-pull', 900)
  assert.equal(creds.authMethod, 'basic')
  assert.equal(creds.username, user)
  await registry.deleteRepository(repo.name)
  await assert.rejects(registry.getRepository(repo.name), (e) => e instanceof ArtifactRegistryError && e.code === 'not-found')

  const context = JSON.parse(fs.readFileSync(path.join(vector, 'context.json'), 'utf8'))
  const signed = signAwsRequest({
    method: 'GET',
    url: 'https://example.amazonaws.com/',
    headers: { Host: 'example.amazonaws.com' },
    body: '',
    region: context.region,
    service: context.service,
    accessKeyId: context.credentials.access_key_id,
    secretAccessKey: context.credentials.secret_access_key,
    timestamp: '20150830T123600Z'
  })
  const expected = fs.readFileSync(path.join(vector, 'header-signed-request.txt'), 'utf8')
    .split('\n').find((l) => l.startsWith('Authorization:')).slice('Authorization:'.length)
  assert.equal(signed.Authorization, expected)
  console.log(`node ${process.version} (${process.arch}): artifact-registry-bindings ${version} from ${installed}: lifecycle and SigV4 ok`)
}

main().catch((e) => { console.error(e); process.exit(1) })
