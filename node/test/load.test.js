'use strict'
// Load: 1,000 concurrent operations against the stub server, 300 rounds. Every call
// completes; once warm, memory does not grow: RSS after round 300 is within 2 MB of
// RSS after round 100 (the rounds before are the allocator's arenas, V8's heap and
// the connection pool reaching their working size, not memory held); open file
// descriptors return to their baseline once the client is collected (its connection
// pool with it). The figures go to target/load-node.json.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')
const { ArtifactRegistry } = require('..')
const { REPO, startStub, stubConfig } = require('./helpers')

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')
const ROUNDS = Number(process.env.LOAD_ROUNDS ?? 300)
// RSS is compared between the end of this round and the last.
const WARM_ROUND = Math.min(100, ROUNDS)
const CONCURRENT = 1000
// Each answer is held this long, so that every round has all its calls in flight.
const DELAY_MS = Number(process.env.LOAD_DELAY_MS ?? 50)
const RSS_BOUND = 2 * 1024 * 1024
const openFds = () => fs.readdirSync('/proc/self/fd').length
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function settleFds (target) {
  // The runtime closes a dropped pool's sockets on its own threads: wait (10 s at
  // most) for `target`, or without one until the count has held for a second.
  const deadline = Date.now() + 10000
  let last = openFds()
  let stableSince = Date.now()
  while (Date.now() < deadline) {
    const now = openFds()
    if (target !== undefined && now <= target) break
    if (now !== last) { last = now; stableSince = Date.now() } else if (target === undefined && Date.now() - stableSince > 1000) break
    gc()
    await sleep(50)
  }
  return openFds()
}

test('1,000 concurrent calls, 300 rounds, without growth', async (t) => {
  const endpoint = await startStub(t, DELAY_MS)
  // The runtime's own descriptors come with the first call: the baseline follows one.
  await new ArtifactRegistry(stubConfig(endpoint)).getRepository('acme-app')
  const baselineFds = await settleFds()
  const rounds = []
  await (async () => {
    const registry = new ArtifactRegistry(stubConfig(endpoint))
    for (let r = 0; r < ROUNDS; r++) {
      const started = performance.now()
      const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => registry.getRepository(`acme-app-${i}`)))
      assert.deepEqual(results.map((x) => x.name), Array.from({ length: CONCURRENT }, (_, i) => `acme-app-${i}`))
      gc()
      rounds.push({ round: r + 1, seconds: (performance.now() - started) / 1000, rssBytes: process.memoryUsage().rss, openFds: openFds() })
    }
  })()
  const fdsAfterDrop = await settleFds(baselineFds)
  const growth = rounds.at(-1).rssBytes - rounds[WARM_ROUND - 1].rssBytes
  const figures = {
    baselineFds,
    fdsAfterDrop,
    warmRound: WARM_ROUND,
    rssGrowthAfterWarmRoundBytes: growth,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rounds: rounds.filter((r) => [1, 10, WARM_ROUND].includes(r.round) || r.round % 50 === 0)
  }
  const target = process.env.CARGO_TARGET_DIR ?? path.join(REPO, 'target')
  fs.writeFileSync(path.join(target, 'load-node.json'), JSON.stringify(figures, null, 1))
  assert.ok(fdsAfterDrop <= baselineFds, JSON.stringify(figures))
  assert.ok(growth < RSS_BOUND, JSON.stringify(figures))
})
