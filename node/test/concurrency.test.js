'use strict'
// Many calls in flight at once, deadlines, clocks and panics. Overlap is shown by
// what the stub server held at once, never by timing, so a loaded machine cannot
// fail these.
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { blackHole, startStub, stubConfig, stubStats } = require('./helpers')

test('200 concurrent calls are in flight together and the event loop keeps running', async (t) => {
  const endpoint = await startStub(t, 100)
  const registry = new ArtifactRegistry(stubConfig(endpoint))
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 5)
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => registry.getRepository(`acme-app-${i}`)))
  clearInterval(timer)
  assert.deepEqual(results.map((r) => r.name), Array.from({ length: 200 }, (_, i) => `acme-app-${i}`))
  assert.ok(ticks > 0, 'the event loop ran while the calls were in flight')
  const stats = await stubStats(endpoint)
  assert.equal(stats.requests, 200)
  assert.ok(stats.maxInFlight >= 10, `at most ${stats.maxInFlight} requests were held at once`)
})

test('a server that never answers gives timeout within the deadline, with either transport', async (t) => {
  const config = { ...stubConfig(await blackHole(t)), timeouts: { requestSeconds: 0.5, operationSeconds: 2 } }
  const fetchTransport = async ({ method, url, headers, body, timeoutMs }) => {
    const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) })
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) }
  }
  for (const options of [{}, { transport: fetchTransport }, { clock: Date.now }]) {
    const started = performance.now()
    await assert.rejects(new ArtifactRegistry(config, options).getRepository('acme-app'),
      (e) => e instanceof ArtifactRegistryError && e.code === 'timeout')
    // An upper bound only: the deadline plus a margin for a loaded machine.
    assert.ok(performance.now() - started < 5000, `${Object.keys(options)} took ${performance.now() - started} ms`)
  }
})

test('options.clock is used with the built-in transport', async (t) => {
  // A server that records the X-Amz-Date each request was signed with.
  const dates = []
  const server = require('node:http').createServer((req, res) => {
    dates.push(req.headers['x-amz-date'])
    req.resume()
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/x-amz-json-1.1')
      res.end(JSON.stringify({ repositories: [{ repositoryName: 'acme-app', repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-app', createdAt: 1795849200 }] }))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const stopped = Date.parse('2026-11-28T07:00:00Z')
  const registry = new ArtifactRegistry(stubConfig(`http://127.0.0.1:${server.address().port}`), { clock: () => stopped })
  assert.equal((await registry.getRepository('acme-app')).name, 'acme-app')
  assert.deepEqual(dates, ['20261128T070000Z'])
})

test('a panic in the binding rejects the Promise with an ArtifactRegistryError', async () => {
  const { Client } = require('../binding.js')
  const client = new Client(JSON.stringify(stubConfig('http://127.0.0.1:9')))
  await assert.rejects(client._panicProbe(), (e) => /ARTIFACT_REGISTRY_ERROR:.*panicked/.test(e.message))
})
