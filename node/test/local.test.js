'use strict'
// The local provider end to end against Debian's docker-registry (htpasswd).
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { startDockerRegistry } = require('./helpers')

test('local lifecycle', async (t) => {
  const server = await startDockerRegistry(t)
  const registry = new ArtifactRegistry(server.config)
  assert.equal(registry.registryEndpoint(), `http://${server.addr}`)
  assert.equal(registry.upstreamRepositoryPrefix(), 'artifacts')
  const repo = await registry.createRepository('node-local')
  assert.equal(repo.name, 'artifacts/node-local')
  assert.ok(repo.createdAt)
  assert.deepEqual(await registry.getRepository(repo.name), repo)

  const creds = await registry.generateCredentials(repo.name, 'pull')
  assert.equal(creds.authMethod, 'basic')
  // The credentials really open the registry.
  const answer = await fetch(`http://${server.addr}/v2/${repo.name}/manifests/latest`, {
    headers: { Authorization: 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64'), Accept: 'application/vnd.oci.image.manifest.v1+json' }
  })
  assert.equal(answer.status, 200)

  await assert.rejects(registry.addCrossAccountAccess(repo.name, { platform: 'aws', accountIds: ['111111111111'] }),
    (e) => e instanceof ArtifactRegistryError && e.code === 'not-supported')
  await registry.deleteRepository(repo.name)
  await assert.rejects(registry.getRepository(repo.name), (e) => e.code === 'not-found')
})

test('a fetch-based transport works against the real registry', async (t) => {
  const server = await startDockerRegistry(t)
  const transport = async (request) => {
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body.length ? request.body : undefined })
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) }
  }
  const registry = new ArtifactRegistry(server.config, { transport })
  const repo = await registry.createRepository('via-fetch')
  assert.deepEqual(await registry.getRepository(repo.name), repo)
})
