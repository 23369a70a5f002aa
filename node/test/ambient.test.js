'use strict'
// Credentials from the environment only (no `credentials` in the configuration):
// ECR against moto, and describeCredentials().
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { startMoto } = require('./helpers')

const VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE',
  'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_EC2_METADATA_DISABLED', 'HOME',
  'AWS_REGION', 'AWS_DEFAULT_REGION']

test('ECR with credentials from the environment only', async (t) => {
  const moto = await startMoto(t)
  const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]))
  t.after(() => { for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v } })
  for (const v of VARS) delete process.env[v]
  process.env.HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'ambient-'))
  process.env.AWS_EC2_METADATA_DISABLED = 'true'
  const config = moto.config('node-amb')
  const { accessKeyId, secretAccessKey } = config.aws.credentials
  delete config.aws.credentials

  await assert.rejects(new ArtifactRegistry(config).describeCredentials(), (e) =>
    e instanceof ArtifactRegistryError && e.code === 'access-denied' && /tried in this order/.test(e.message))

  process.env.AWS_ACCESS_KEY_ID = accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey
  // The region too comes from the environment, as the AWS SDK for JavaScript reads it.
  delete config.aws.region
  assert.throws(() => new ArtifactRegistry(config), (e) =>
    e instanceof ArtifactRegistryError && e.code === 'invalid-input' && /AWS_REGION/.test(e.message))
  process.env.AWS_REGION = 'us-east-1'
  const registry = new ArtifactRegistry(config)
  const who = await registry.describeCredentials()
  assert.equal(who.source, 'environment')
  assert.equal(who.account, '123456789012')
  assert.ok(!JSON.stringify(who).includes(secretAccessKey))
  const repo = await registry.createRepository('web')
  assert.equal(repo.name, 'node-amb-web')
  assert.equal((await registry.generateCredentials(repo.name, 'pull')).username, 'AWS')
  await registry.deleteRepository(repo.name)
})
