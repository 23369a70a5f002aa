'use strict'
// The Node package's README (its page on npm) shows code that runs: its first
// example, pointed at a real registry (Debian's docker-registry), does what its
// comments say.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { startDockerRegistry } = require('./helpers')

const README = path.join(__dirname, '..', 'README.md')
const jsBlocks = () => [...fs.readFileSync(README, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])

test('the first example runs as written', async (t) => {
  const server = await startDockerRegistry(t, null) // open, as the example's
  let code = jsBlocks()[0]
  // The example's registry is 127.0.0.1:5000; the test's listens on a free port.
  // Nothing else changes.
  for (const [old, now] of [["require('artifact-registry-bindings')", "require('..')"],
    ["'127.0.0.1:5000'", JSON.stringify(server.addr)]]) {
    assert.equal(code.split(old).length, 2, `the example no longer holds ${old}`)
    code = code.replace(old, now)
  }
  const printed = []
  const console = { log: (...args) => printed.push(args) }
  const AsyncFunction = (async () => {}).constructor
  const run = new AsyncFunction('require', 'console', code + '\nreturn { registry, repo, creds }')
  const { registry, repo, creds } = await run(require, console)

  assert.deepEqual(Object.keys(printed[0][0]), ['name', 'uri', 'createdAt'])
  assert.equal(repo.name, 'artifacts/my-app')
  assert.equal(repo.uri, `${server.addr}/artifacts/my-app`)
  assert.ok(repo.createdAt)
  // An open registry: anonymous credentials (nothing of anyone's to hand out).
  assert.deepEqual([creds.authMethod, creds.username, creds.password], ['basic', '', ''])
  await assert.rejects(registry.getRepository(repo.name), (e) => e.code === 'not-found') // the example deleted it
})

test('every example parses', () => {
  const blocks = jsBlocks()
  assert.ok(blocks.length >= 4)
  for (const block of blocks) new (async () => {}).constructor(block) // eslint-disable-line no-new
})
