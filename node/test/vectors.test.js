'use strict'
// The scenario vectors of tests/vectors through the Node API, with a replay
// transport and a fixed clock: the same requests and results as the native driver.
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { vectors } = require('./helpers')

const all = vectors()

test('there is a vector set', () => assert.ok(all.length >= 40))

function invoke (registry, v) {
  const a = v.args
  switch (v.operation) {
    case 'create-repository': return registry.createRepository(a.name)
    case 'get-repository': return registry.getRepository(a.repository)
    case 'delete-repository': return registry.deleteRepository(a.repository)
    case 'add-cross-account-access': return registry.addCrossAccountAccess(a.repository, a.access)
    case 'remove-cross-account-access': return registry.removeCrossAccountAccess(a.repository, a.access)
    case 'get-cross-account-access': return registry.getCrossAccountAccess(a.repository)
    case 'generate-credentials': return registry.generateCredentials(a.repository, a.permissions, a.ttlSeconds)
    case 'image-pull-secret': return registry.imagePullSecret(a.repository, a.name, { namespace: a.namespace, ttlSeconds: a.ttlSeconds })
    case 'registry-endpoint': return registry.registryEndpoint()
    case 'upstream-repository-prefix': return registry.upstreamRepositoryPrefix()
  }
  throw new Error(`unknown operation ${v.operation}`)
}

for (const v of all) {
  test(`vector ${v.name}`, async () => {
    const answers = [...v.exchanges]
    const seen = []
    const transport = async (request) => {
      seen.push({ method: request.method, url: request.url, headers: request.headers, body: request.body.toString('utf8') })
      const exchange = answers.shift()
      if (!exchange) throw new Error('the vector has no more answers')
      if (exchange.transportError) {
        const e = new Error(exchange.transportError.message)
        if (exchange.transportError.timeout) e.name = 'TimeoutError'
        throw e
      }
      return exchange.response
    }
    const registry = new ArtifactRegistry(v.config, { transport, clock: () => Date.parse(v.now) })
    let outcome
    try {
      const result = await invoke(registry, v)
      outcome = { result: result === undefined ? null : JSON.parse(JSON.stringify(result)) }
    } catch (e) {
      assert.ok(e instanceof ArtifactRegistryError, `not an ArtifactRegistryError: ${e}`)
      outcome = { error: { code: e.code, httpStatus: e.httpStatus, providerCode: e.providerCode } }
    }
    assert.deepEqual(seen, v.exchanges.map((e) => e.request))
    assert.deepEqual(outcome, v.expect)
  })
}
