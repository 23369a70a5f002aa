'use strict'
// The package surface: TypeScript declarations that match the runtime, and no
// secret in util.inspect.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const util = require('node:util')
const { execFileSync } = require('node:child_process')
const pkg = require('..')

test('index.d.ts compiles against a typed usage file (tsc --noEmit)', () => {
  const tsc = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '--noEmit', '-p', path.join(__dirname, 'tsconfig.json')], { encoding: 'utf8' })
})

test('index.d.ts declares exactly what the runtime exports', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
  const declared = [...dts.matchAll(/^export declare (?:class|function) (\w+)/gm)].map((m) => m[1]).sort()
  assert.deepEqual(declared, Object.keys(pkg).sort())
  const body = dts.slice(dts.indexOf('export declare class ArtifactRegistry {'))
  const methods = [...body.slice(0, body.indexOf('\n}')).matchAll(/^ {2}(\w+)\(/gm)].map((m) => m[1]).filter((n) => n !== 'constructor').sort()
  const runtime = Object.getOwnPropertyNames(pkg.ArtifactRegistry.prototype).filter((n) => n !== 'constructor').sort()
  assert.deepEqual(methods, runtime)
})

test('util.inspect never shows a secret', async () => {
  const secret = 'AWS-SECRET-wJalrXUtnFEMI-K7MDENG'
  const config = {
    name: 'artifacts',
    binding: { service: 'ecr', repositoryPrefix: 'acme', unscopedCredentials: true },
    aws: { region: 'us-east-1', accountId: '123456789012', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret, sessionToken: 'token-FwoGZXIvYXdz' } }
  }
  const transport = async () => ({ status: 200, headers: {}, body: '{"authorizationData":[{"authorizationToken":"QVdTOnNlY3JldC1wYXNzd29yZA==","expiresAt":1795892400}]}' })
  const registry = new pkg.ArtifactRegistry(config, { transport })
  const shown = util.inspect(registry, { showHidden: true, depth: 10 })
  assert.ok(!shown.includes(secret) && !shown.includes('FwoGZXIvYXdz'), shown)
  const creds = await registry.generateCredentials('acme-app', 'pull')
  assert.equal(creds.password, 'secret-password')
  assert.ok(!util.inspect(creds).includes('secret-password'), util.inspect(creds))
  assert.deepEqual(Object.keys(creds), ['authMethod', 'username', 'password', 'expiresAt'])
  assert.deepEqual(JSON.parse(JSON.stringify(creds)), { authMethod: 'basic', username: 'AWS', password: 'secret-password', expiresAt: '2026-11-28T19:00:00+00:00' })
})
