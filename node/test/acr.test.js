'use strict'
// Azure Container Registry from Node, against the ACR contract server (which Azure's
// own SDKs check in tests/contract/).
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { startAcr } = require('./helpers')

test('ACR lifecycle and both credential modes', async (t) => {
  const acr = await startAcr(t)
  const registry = new ArtifactRegistry(acr.config())
  const repo = await registry.createRepository('node-app')
  assert.deepEqual(repo, { name: 'team-a/node-app', uri: `${acr.host}/team-a/node-app`, createdAt: null })
  await acr.control('/_contract/image', { repository: 'team-a/node-app', tag: 'v1' })
  assert.equal(typeof (await registry.getRepository(repo.name)).createdAt, 'string')
  await assert.rejects(registry.getCrossAccountAccess(repo.name), (e) => e instanceof ArtifactRegistryError && e.code === 'not-supported')

  const bearer = await registry.generateCredentials(repo.name, 'pull', 900)
  assert.equal(bearer.authMethod, 'bearer')
  const pulled = await fetch(`${acr.endpoint}/v2/team-a/node-app/manifests/v1`, { headers: { Authorization: `Bearer ${bearer.password}` } })
  assert.equal(pulled.status, 200)

  const scoped = new ArtifactRegistry(acr.config({ scopeMapTokens: true }))
  const start = Date.now()
  const basic = await scoped.generateCredentials(repo.name, 'push-pull', 600)
  assert.equal(basic.authMethod, 'basic')
  assert.ok(Math.abs(Date.parse(basic.expiresAt) - start - 600_000) < 2_000, basic.expiresAt)

  await registry.deleteRepository(repo.name)
  await registry.deleteRepository(repo.name)
})
