'use strict'
// ECR end to end against moto's server with request-signature checking on.
const test = require('node:test')
const assert = require('node:assert/strict')
const { ArtifactRegistry, ArtifactRegistryError } = require('..')
const { startMoto } = require('./helpers')

test('ECR lifecycle', async (t) => {
  const moto = await startMoto(t)
  moto.boto3(`trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::123456789012:user/artifact-registry-tests'}, 'Action': 'sts:AssumeRole'}]})
iam.create_role(RoleName='push', AssumeRolePolicyDocument=trust)
iam.put_role_policy(RoleName='push', PolicyName='all', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))`)
  const registry = new ArtifactRegistry(moto.config('acme', { pushRoleArn: 'arn:aws:iam::123456789012:role/push' }))
  const repo = await registry.createRepository('node-app')
  assert.equal(repo.name, 'acme-node-app')
  assert.equal(repo.uri, '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-node-app')
  assert.deepEqual(await registry.createRepository('node-app'), repo)
  assert.deepEqual(await registry.getRepository(repo.name), repo)

  moto.boto3(`ecr.set_repository_policy(repositoryName='acme-node-app', policyText=json.dumps({'Version': '2012-10-17', 'Statement': [{'Sid': 'Theirs', 'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::999999999999:root'}, 'Action': ['ecr:PutImage']}]}))`)
  const grant = { platform: 'aws', accountIds: ['111111111111'], regions: ['us-east-1'], allowedServiceTypes: ['worker'], roleArns: [] }
  assert.equal(await registry.addCrossAccountAccess(repo.name, grant), undefined)
  assert.deepEqual((await registry.getCrossAccountAccess(repo.name)).access, grant)
  await registry.removeCrossAccountAccess(repo.name, { platform: 'aws', accountIds: ['111111111111'] })
  assert.match(moto.boto3("print(ecr.get_repository_policy(repositoryName='acme-node-app')['policyText'])"), /Theirs/)

  const creds = await registry.generateCredentials(repo.name, 'push-pull', 900)
  assert.equal(creds.authMethod, 'basic')
  assert.equal(creds.username, 'AWS')
  assert.equal(creds.password, '123456789012-auth-token')

  await registry.deleteRepository(repo.name)
  await assert.rejects(registry.getRepository(repo.name), (e) =>
    e instanceof ArtifactRegistryError && e.code === 'not-found' && e.providerCode === 'RepositoryNotFoundException')
})

test('a wrong secret is rejected by signature checking', async (t) => {
  const moto = await startMoto(t)
  const config = moto.config()
  config.aws.credentials.secretAccessKey = 'definitely-not-the-secret'
  await assert.rejects(new ArtifactRegistry(config).createRepository('app'), (e) =>
    e instanceof ArtifactRegistryError && e.code === 'access-denied' && e.httpStatus === 403 &&
    e.providerCode === 'SignatureDoesNotMatch' && !e.message.includes('definitely-not-the-secret'))
})
