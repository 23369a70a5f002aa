// Benchmark: this package versus @aws-sdk/client-ecr, in one run, against the
// same fast loopback server answering ECR-shaped responses (the Rust
// ecr-stub-server, a separate process): DescribeRepositories operations per second,
// one after another and with 64 in flight. Each figure is the median of 5 rounds.
// Then the peak RSS of a fresh process doing 1,000 calls at once, ten times
// (answers held 50 ms so that all are in flight), with this package and with the
// SDK (a keep-alive agent allowing 1,000 sockets).
//
//   npm run bench        (after npm run build, with the stub server built:
//                         cargo build --release -p artifact-registry-tests --bin ecr-stub-server)
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { ECRClient, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr'

const require = createRequire(import.meta.url)
const { ArtifactRegistry } = require('../index.js')
const { startStub, stubConfig } = require('../test/helpers.js')

const ROUNDS = 5
const CALLS = 2000

// startStub registers its cleanup with a test context; give it a minimal one.
const cleanups = []
const endpoint = await startStub({ after: (f) => cleanups.push(f) })

const ours = new ArtifactRegistry(stubConfig(endpoint))
const sdk = new ECRClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  maxAttempts: 1
})
const oursCall = () => ours.getRepository('acme-app')
const sdkCall = () => sdk.send(new DescribeRepositoriesCommand({ repositoryNames: ['acme-app'] }))

async function sequential (call) {
  for (let i = 0; i < CALLS; i++) await call()
}

async function inFlight (call, width = 64) {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < CALLS) {
      next++
      await call()
    }
  }))
}

async function rate (run, call) {
  await run(call) // warm up
  const rates = []
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now()
    await run(call)
    rates.push(CALLS / ((performance.now() - started) / 1000))
  }
  return rates.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]
}

const results = {
  '@aws-sdk/client-ecr sequential': await rate(sequential, sdkCall),
  'artifact-registry-bindings sequential': await rate(sequential, oursCall),
  '@aws-sdk/client-ecr 64 in flight': await rate(inFlight, sdkCall),
  'artifact-registry-bindings 64 in flight': await rate(inFlight, oursCall)
}
// Each probe runs in its own process, so that its peak is its own.
const PEAK_PROBE = `
const [endpoint, which] = process.argv.slice(1)
const { stubConfig } = require('./test/helpers.js')
async function main () {
  let call
  if (which === 'ours') {
    const { ArtifactRegistry } = require('./index.js')
    const registry = new ArtifactRegistry(stubConfig(endpoint))
    call = (i) => registry.getRepository('acme-app-' + i)
  } else {
    const { ECRClient, DescribeRepositoriesCommand } = require('@aws-sdk/client-ecr')
    const { NodeHttpHandler } = require('@smithy/node-http-handler')
    const http = require('node:http')
    const sdk = new ECRClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 1000 }) })
    })
    call = (i) => sdk.send(new DescribeRepositoriesCommand({ repositoryNames: ['acme-app-' + i] }))
  }
  for (let r = 0; r < 10; r++) await Promise.all(Array.from({ length: 1000 }, (_, i) => call(i)))
  console.log(process.resourceUsage().maxRSS / 1024)
}
main()
`
const held = await startStub({ after: (f) => cleanups.push(f) }, 50)
const packageDir = fileURLToPath(new URL('..', import.meta.url))
const peak = (which) => Number(execFileSync(process.execPath, ['-e', PEAK_PROBE, held, which], { cwd: packageDir, encoding: 'utf8' }))
results['peak RSS at 1,000 in flight, this package (MB)'] = peak('ours')
results['peak RSS at 1,000 in flight, @aws-sdk/client-ecr (MB)'] = peak('sdk')

for (const [k, v] of Object.entries(results)) {
  console.log(`${k.padEnd(52)} ${v.toFixed(k.includes('MB') ? 1 : 0).padStart(8)}${k.includes('MB') ? '' : ' ops/s'}`)
}
console.log()
console.log(`sequential:   ${(results['artifact-registry-bindings sequential'] / results['@aws-sdk/client-ecr sequential']).toFixed(1)}x the AWS SDK (goal >= 5x)`)
console.log(`64 in flight: ${(results['artifact-registry-bindings 64 in flight'] / results['@aws-sdk/client-ecr 64 in flight']).toFixed(1)}x the AWS SDK (goal >= 15x)`)
console.log(`peak RSS at 1,000 in flight: ${(results['peak RSS at 1,000 in flight, this package (MB)'] / results['peak RSS at 1,000 in flight, @aws-sdk/client-ecr (MB)']).toFixed(2)}x the AWS SDK's`)
for (const f of cleanups) f()
