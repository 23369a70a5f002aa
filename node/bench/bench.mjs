// Benchmark: this package versus @aws-sdk/client-ecr, in one run, against the
// same fast loopback server answering ECR-shaped responses (the Rust
// ecr-stub-server, a separate process): DescribeRepositories operations per second,
// one after another and with 64 in flight. Each figure is the median of 5 rounds.
//
//   npm run bench        (after npm run build, with the stub server built:
//                         cargo build --release -p artifact-registry-tests --bin ecr-stub-server)
import { createRequire } from 'node:module'
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
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(42)} ${v.toFixed(0).padStart(8)} ops/s`)
console.log()
console.log(`sequential:   ${(results['artifact-registry-bindings sequential'] / results['@aws-sdk/client-ecr sequential']).toFixed(1)}x the AWS SDK (target >= 2x)`)
console.log(`64 in flight: ${(results['artifact-registry-bindings 64 in flight'] / results['@aws-sdk/client-ecr 64 in flight']).toFixed(1)}x the AWS SDK`)
for (const f of cleanups) f()
