'use strict'
// Many calls in flight at once, and the event loop keeps running while they wait.
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry } = require('..')
const { startStub, stubConfig } = require('./helpers')

test('200 concurrent calls complete, faster than one after another, without blocking the loop', async (t) => {
  const endpoint = await startStub(t, 20)
  const registry = new ArtifactRegistry(stubConfig(endpoint))
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 5)
  const started = performance.now()
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => registry.getRepository(`acme-app-${i}`)))
  const concurrent = performance.now() - started
  clearInterval(timer)
  assert.deepEqual(results.map((r) => r.name), Array.from({ length: 200 }, (_, i) => `acme-app-${i}`))
  assert.ok(ticks > 0, 'the event loop ran while the calls were in flight')
  // One after another, 200 calls take at least 200 x 20 ms = 4 s.
  assert.ok(concurrent < 2000, `200 concurrent calls took ${concurrent} ms`)
})
