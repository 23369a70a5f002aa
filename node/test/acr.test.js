'use strict'
// Azure Container Registry from Node, against the ACR contract server (which Azure's
// own SDKs check in tests/contract/), cross-account pull through ABAC role assignments
// included.
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
  // RBAC-only mode (the server's default): no repository-scoped grants.
  await assert.rejects(registry.getCrossAccountAccess(repo.name), (e) => e instanceof ArtifactRegistryError && e.code === 'not-supported' && /rbac-abac/.test(e.message))

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

// Grantee applications: [client id, object id of their service principal].
const GRANTEES = Array.from({ length: 8 }, (_, i) => [`9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6${i}`, `3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0${i}`])

async function abac (acr) {
  await acr.control('/_contract/configure', {
    roleAssignmentMode: 'AbacRepositoryPermissions',
    servicePrincipals: GRANTEES.map(([clientId, objectId]) => ({ clientId, objectId }))
  })
  for (const repository of ['team-a/web', 'team-a/api']) await acr.control('/_contract/image', { repository, tag: 'v1' })
}

function grantee (acr, clientId) {
  const config = acr.config()
  config.azure.credentials.clientId = clientId
  return new ArtifactRegistry(config)
}

async function status (acr, method, repo, creds) {
  const r = await fetch(`${acr.endpoint}/v2/${repo}/manifests/${method === 'PUT' ? 'v2' : 'v1'}`, {
    method,
    headers: { Authorization: `Bearer ${creds.password}`, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: method === 'PUT' ? '{}' : undefined
  })
  return r.status
}

test('ACR ABAC: another identity pulls the granted repository only, until revoked', async (t) => {
  const acr = await startAcr(t)
  await abac(acr)
  const owner = new ArtifactRegistry(acr.config())
  await assert.rejects(owner.addCrossAccountAccess('team-a/web', { platform: 'aws', accountIds: ['111111111111'] }),
    (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input')
  const [clientId, principal] = GRANTEES[0]
  await owner.addCrossAccountAccess('team-a/web', { platform: 'azure', principalIds: [principal] })
  const got = await owner.getCrossAccountAccess('team-a/web')
  assert.deepEqual(got.access, { platform: 'azure', principalIds: [principal], allowedServiceTypes: [] })
  assert.equal(typeof got.lastUpdated, 'string')

  const reader = grantee(acr, clientId)
  assert.equal(await status(acr, 'GET', 'team-a/web', await reader.generateCredentials('team-a/web', 'pull')), 200)
  assert.equal(await status(acr, 'GET', 'team-a/api', await reader.generateCredentials('team-a/api', 'pull')), 401)
  assert.equal(await status(acr, 'PUT', 'team-a/web', await reader.generateCredentials('team-a/web', 'push-pull')), 401)

  await owner.removeCrossAccountAccess('team-a/web', { platform: 'azure', principalIds: [principal] })
  assert.deepEqual((await owner.getCrossAccountAccess('team-a/web')).access.principalIds, [])
  const revoked = grantee(acr, clientId)
  assert.equal(await status(acr, 'GET', 'team-a/web', await revoked.generateCredentials('team-a/web', 'pull')), 401)
})

test('ACR ABAC: eight concurrent adds all stay; someone else\'s look-alike survives add and remove', async (t) => {
  const acr = await startAcr(t)
  await abac(acr)
  const config = acr.config()
  const registryId = Object.values((await acr.control('/_contract/state')).roleAssignments)[0].properties.scope
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: config.azure.credentials.clientId, client_secret: config.azure.credentials.clientSecret, scope: 'https://management.azure.com/.default' })
  const token = (await (await fetch(`${acr.endpoint}/${config.azure.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form })).json()).access_token
  const lookAlike = "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND " +
    "!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR " +
    "(@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'team-a/web'))"
  const put = await fetch(`${acr.endpoint}${registryId}/providers/Microsoft.Authorization/roleAssignments/a1000000-0000-4000-8000-000000000001?api-version=2022-04-01`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      properties: {
        roleDefinitionId: `/subscriptions/${config.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/b93aa761-3e63-49ed-ac28-beffa264f7ac`,
        principalId: GRANTEES[0][1], principalType: 'ServicePrincipal', condition: lookAlike, conditionVersion: '2.0',
        description: 'artifact-registry: cross-account pull of the repository team-a/web'
      }
    })
  })
  assert.equal(put.status, 201)
  const foreign = (await acr.control('/_contract/state')).roleAssignments['a1000000-0000-4000-8000-000000000001']

  // Eight writers that share nothing, as eight processes would.
  await Promise.all(GRANTEES.map(([, p]) => new ArtifactRegistry(config).addCrossAccountAccess('team-a/web', { platform: 'azure', principalIds: [p] })))
  const owner = new ArtifactRegistry(config)
  assert.deepEqual((await owner.getCrossAccountAccess('team-a/web')).access.principalIds, GRANTEES.map(([, p]) => p).sort())
  await Promise.all(GRANTEES.slice(0, 4).map(([, p]) => owner.removeCrossAccountAccess('team-a/web', { platform: 'azure', principalIds: [p] })))
  assert.deepEqual((await owner.getCrossAccountAccess('team-a/web')).access.principalIds, GRANTEES.slice(4).map(([, p]) => p).sort())
  assert.deepEqual((await acr.control('/_contract/state')).roleAssignments['a1000000-0000-4000-8000-000000000001'], foreign)
})
