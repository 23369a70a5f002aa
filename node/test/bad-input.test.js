'use strict'
// Bad input is rejected with a typed ArtifactRegistryError before any request.
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')

const CONFIG = {
  name: 'artifacts',
  binding: { service: 'ecr', repositoryPrefix: 'acme', pullRoleArn: 'arn:aws:iam::123456789012:role/pull' },
  aws: { region: 'us-east-1', accountId: '123456789012', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG' } }
}

const calls = [
  ['createRepository', ['Bad Name']],
  ['createRepository', ['a'.repeat(300)]],
  ['createRepository', [42]],
  ['getRepository', ['other-team-app']],
  ['getRepository', [undefined]],
  ['deleteRepository', ['ACME-app']],
  ['getCrossAccountAccess', ['']],
  ['addCrossAccountAccess', ['acme-app', { platform: 'aws', accountIds: ['123'] }]],
  ['addCrossAccountAccess', ['acme-app', { platform: 'aws', roleArns: ['arn:aws-cn:iam::123456789012:role/x'] }]],
  ['addCrossAccountAccess', ['acme-app', { platform: 'aws', accountIds: ['111111111111'], regions: ['moon-1'] }]],
  ['addCrossAccountAccess', ['acme-app', { platform: 'gcp', projectNumbers: ['1'] }]],
  ['addCrossAccountAccess', ['acme-app', { platform: 'azure' }]],
  ['addCrossAccountAccess', ['acme-app', null]],
  ['removeCrossAccountAccess', ['acme-app', { platform: 'aws' }]],
  ['generateCredentials', ['acme-app', 'admin']],
  ['generateCredentials', ['acme-app', 'pull', 60]],
  ['generateCredentials', ['acme-app', 'push-pull', 43201]],
  ['generateCredentials', ['acme-app', 'pull', 1.5]]
]

for (const [method, args] of calls) {
  test(`${method}(${JSON.stringify(args).slice(0, 60)}) is invalid-input and sends nothing`, async () => {
    const sent = []
    const registry = new ArtifactRegistry(CONFIG, { transport: async (r) => { sent.push(r); throw new Error('no request may be sent') } })
    await assert.rejects(registry[method](...args), (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input' && e.message.length > 0)
    assert.deepEqual(sent, [])
    // The built-in transport rejects the same input just the same (nothing to reach).
    await assert.rejects(new ArtifactRegistry(CONFIG)[method](...args), (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input')
  })
}

test('bad configurations name the offending path', () => {
  const cases = [
    [{ ...CONFIG, extra: 1 }, 'extra'],
    [{ ...CONFIG, aws: { ...CONFIG.aws, region: 'US-EAST-1' } }, 'aws.region'],
    [{ ...CONFIG, aws: { ...CONFIG.aws, credentials: { accessKeyId: 'AKID' } } }, 'aws.credentials.secretAccessKey'],
    [{ name: 'a', binding: { service: 's3' } }, 'binding.service'],
    ['{not json', 'JSON']
  ]
  for (const [config, where] of cases) {
    assert.throws(() => new ArtifactRegistry(config), (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input' && e.message.includes(where))
  }
  assert.throws(() => new ArtifactRegistry(CONFIG, { transport: 'fetch' }), (e) => e.code === 'invalid-input')
})
