'use strict'
// Google Artifact Registry from Node, against the GAR contract server (which Google's
// own clients check in tests/contract/).
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { startGar } = require('./helpers')

const PULL = 'pull-sa@acme-p1.iam.gserviceaccount.com'
const DEPLOYER = 'deployer@acme-p1.iam.gserviceaccount.com'

test('GAR lifecycle', async (t) => {
  const gar = await startGar(t)
  await gar.control('/_contract/configure', { lroPolls: 1, tokenCreators: { [PULL]: [DEPLOYER] } })
  const registry = new ArtifactRegistry(gar.config('images', { pullServiceAccountEmail: PULL }))
  assert.equal(registry.registryEndpoint(), 'https://us-central1-docker.pkg.dev')
  await assert.rejects(registry.getRepository('acme-p1/images/node-app'), (e) => e instanceof ArtifactRegistryError && e.code === 'not-found')

  const repo = await registry.createRepository('node-app')
  assert.deepEqual(repo, { name: 'acme-p1/images/node-app', uri: 'us-central1-docker.pkg.dev/acme-p1/images/node-app', createdAt: null })

  const grant = { platform: 'gcp', projectNumbers: ['123456789012'], allowedServiceTypes: ['worker'], serviceAccountEmails: ['reader@p2.iam.gserviceaccount.com'] }
  assert.equal(await registry.addCrossAccountAccess(repo.name, grant), undefined)
  assert.deepEqual((await registry.getCrossAccountAccess(repo.name)).access, grant)
  await assert.rejects(registry.addCrossAccountAccess(repo.name, { platform: 'gcp', projectNumbers: ['1'] }), (e) => e.code === 'invalid-input')

  const creds = await registry.generateCredentials(repo.name, 'pull', 900)
  assert.equal(creds.username, 'oauth2accesstoken')
  const state = await gar.control('/_contract/state')
  assert.equal(state.tokens[creds.password].email, PULL)

  await registry.deleteRepository(repo.name)
})

test('GAR: 16 concurrent grants all land', async (t) => {
  const gar = await startGar(t)
  await gar.control('/_contract/configure', { lroPolls: 0 })
  const registry = new ArtifactRegistry(gar.config())
  const repo = await registry.createRepository('race')
  const emails = Array.from({ length: 16 }, (_, i) => `reader-${String(i).padStart(2, '0')}@p2.iam.gserviceaccount.com`)
  await Promise.all(emails.map((e) => registry.addCrossAccountAccess(repo.name, { platform: 'gcp', serviceAccountEmails: [e] })))
  assert.deepEqual((await registry.getCrossAccountAccess(repo.name)).access.serviceAccountEmails, emails)
})
