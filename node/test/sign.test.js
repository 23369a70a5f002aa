'use strict'
// signAwsRequest against requests signed by botocore (generated in this run with
// Python): identical Authorization headers.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { signAwsRequest, ArtifactRegistryError } = require('..')
const { PYTHON } = require('./helpers')

const cases = JSON.parse(execFileSync(PYTHON, [path.join(__dirname, 'botocore_cases.py'), '250'], { encoding: 'utf8', maxBuffer: 1 << 26 }))

test('matches botocore on 250 generated requests', () => {
  assert.equal(cases.length, 250)
  for (const c of cases) {
    const headers = signAwsRequest({
      method: c.method, url: c.url, headers: c.headers, body: c.body, region: c.region, service: c.service,
      accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: c.sessionToken, timestamp: c.timestamp
    })
    assert.equal(headers.Authorization, c.authorization, JSON.stringify(c))
    assert.equal(headers['X-Amz-Date'], c.timestamp)
    if (c.sessionToken) assert.equal(headers['X-Amz-Security-Token'], c.sessionToken)
    for (const [k, v] of Object.entries(c.headers)) assert.equal(headers[k], v)
  }
})

test('bad input is an ArtifactRegistryError', () => {
  const base = { method: 'GET', url: 'https://example.amazonaws.com/', region: 'us-east-1', service: 'ecr', accessKeyId: 'AKID', secretAccessKey: 'secret', timestamp: '20261128T070000Z' }
  assert.throws(() => signAwsRequest({ ...base, timestamp: '2026-11-28' }), (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input')
  assert.throws(() => signAwsRequest({ ...base, region: undefined }), (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input')
  assert.throws(() => signAwsRequest({ ...base, url: 'not a url' }), (e) => e instanceof ArtifactRegistryError && e.code === 'invalid-input')
})
