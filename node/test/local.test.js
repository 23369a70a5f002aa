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

test('an image-pull Secret holds a login the registry accepts', async (t) => {
  const server = await startDockerRegistry(t)
  const registry = new ArtifactRegistry(server.config)
  const repo = await registry.createRepository('node-secret')
  const secret = await registry.imagePullSecret(repo.name, 'registry-pull', { namespace: 'apps' })
  assert.equal(secret.type, 'kubernetes.io/dockerconfigjson')
  assert.deepEqual(secret.metadata, { name: 'registry-pull', namespace: 'apps' })
  const dockerConfig = JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString())
  const { auth } = dockerConfig.auths[server.addr]
  // The login (docker's `auth`, base64 of user:password) opens the repository.
  const answer = await fetch(`http://${server.addr}/v2/${repo.name}/manifests/latest`, {
    headers: { Authorization: `Basic ${auth}`, Accept: 'application/vnd.oci.image.manifest.v1+json' }
  })
  assert.equal(answer.status, 200)
  await assert.rejects(registry.imagePullSecret(repo.name, 'Not_A_Name'),
    (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input')
})
