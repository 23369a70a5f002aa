'use strict'
// Canary secrets in every secret field, long and short (under 8 characters), against
// the real servers: everything the Node surface renders (messages, util.inspect of
// errors, results and the client) is scanned for them, raw, base64, in `Basic` form
// and percent-encoded: 0 hits. What was rendered is also printed, so that the scan of
// everything the suite printed (tests/canary_scan.py) covers it.
const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { CANARIES: SECRETS, startMoto, startGar, startAcr, startDockerRegistry } = require('./helpers')

const AWS_SECRET = SECRETS.awsSecretAccessKey
const AWS_TOKEN = SECRETS.awsSessionToken // short
const GCP_TOKEN = SECRETS.gcpAccessToken
const AZURE_SECRET = SECRETS.azureClientSecret // short
const CANARIES = Object.values(SECRETS)
const USERS = ['deployer', 'AWS', 'oauth2accesstoken', 'app', '']

function forms (secret) {
  const b64 = (s) => Buffer.from(s).toString('base64')
  return [secret, b64(secret), encodeURIComponent(secret), ...USERS.map((u) => b64(`${u}:${secret}`))]
}

function assertNoCanary (text, canaries) {
  console.log(text)
  for (const secret of canaries) {
    for (const form of forms(secret)) assert.ok(!text.includes(form), `${form} (a form of a canary) was rendered: ${text.slice(0, 2000)}`)
  }
}

async function runEverything (registry, name, grant) {
  const shown = [util.inspect(registry)]
  const calls = [
    () => registry.createRepository('canary'),
    () => registry.getRepository(name),
    () => registry.addCrossAccountAccess(name, grant),
    () => registry.getCrossAccountAccess(name),
    () => registry.removeCrossAccountAccess(name, grant),
    () => registry.generateCredentials(name, 'push-pull', 900),
    () => registry.describeCredentials(),
    () => registry.deleteRepository(name)
  ]
  for (const call of calls) {
    try {
      shown.push(util.inspect(await call(), { depth: 5 }))
    } catch (e) {
      assert.ok(e instanceof ArtifactRegistryError, String(e))
      shown.push(String(e), e.message, util.inspect(e), e.stack)
    }
  }
  return shown.join('\n')
}

test('canaries never render', async (t) => {
  const moto = await startMoto(t)
  const gar = await startGar(t)
  const acr = await startAcr(t)
  const reg = await startDockerRegistry(t)
  const aws = moto.config()
  aws.aws.credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: AWS_SECRET, sessionToken: AWS_TOKEN }
  const gcp = gar.config()
  gcp.gcp.credentials = { accessToken: GCP_TOKEN }
  const azure = acr.config()
  azure.azure.credentials.clientSecret = AZURE_SECRET
  const aws1 = { platform: 'aws', accountIds: ['111111111111'] }
  const rendered = []
  for (const [config, secret, name, grant] of [
    [aws, AWS_TOKEN, 'acme-canary', aws1],
    [gcp, GCP_TOKEN, 'acme-p1/images/canary', { platform: 'gcp', serviceAccountEmails: ['r@p2.iam.gserviceaccount.com'] }],
    [azure, AZURE_SECRET, 'team-a/canary', aws1],
    [reg.config, reg.password, 'artifacts/canary', aws1]
  ]) {
    for (const options of [{}, { clock: Date.now }]) {
      rendered.push(await runEverything(new ArtifactRegistry(config, options), name, grant))
    }
    // The configuration's own secret pasted into the wrong fields as well.
    for (const bad of [{ ...config, name: `${secret}/x` }, { ...config, binding: { ...config.binding, extra: secret } }]) {
      try {
        // eslint-disable-next-line no-new
        new ArtifactRegistry(bad)
        assert.fail('a bad configuration was accepted')
      } catch (e) {
        rendered.push(String(e), util.inspect(e))
      }
    }
  }
  assert.equal(reg.password, SECRETS.registryPassword)
  assertNoCanary(rendered.join('\n'), CANARIES)
  // The short password is real: credentials carry it, but inspecting them does not show it.
  const creds = await new ArtifactRegistry(reg.config).generateCredentials('artifacts/canary', 'pull', 900)
  assert.equal(creds.password, reg.password)
  assertNoCanary(util.inspect(creds), [reg.password])
})
