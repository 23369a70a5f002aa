// A typed usage of the package: `tsc --noEmit` must accept it (surface.test.js).
import { ArtifactRegistry, ArtifactRegistryError, signAwsRequest } from '..'
import type { Credentials, CrossAccountPermissions, ImagePullSecret, Repository, TransportRequest, TransportResponse } from '..'

async function main (): Promise<void> {
  const transport = async (request: TransportRequest): Promise<TransportResponse> => {
    const r = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body.length > 0 ? new Uint8Array(request.body) : undefined })
    return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) }
  }
  const registry = new ArtifactRegistry({ name: 'artifacts', binding: { service: 'local', registryUrl: 'localhost:5000' } }, { transport, clock: Date.now })
  const repo: Repository = await registry.createRepository('my-app')
  const again: Repository = await registry.getRepository(repo.name)
  const creds: Credentials = await registry.generateCredentials(again.name, 'push-pull', 900)
  const method: 'basic' | 'bearer' = creds.authMethod
  const secret: ImagePullSecret = await registry.imagePullSecret(repo.name, 'registry-pull', { namespace: 'apps', ttlSeconds: 3600 })
  const dockerConfig: string = secret.data['.dockerconfigjson']
  console.log(dockerConfig.length)
  await registry.addCrossAccountAccess(repo.name, { platform: 'aws', accountIds: ['111111111111'], allowedServiceTypes: ['worker'] })
  const grants: CrossAccountPermissions = await registry.getCrossAccountAccess(repo.name)
  if (grants.access.platform === 'aws') {
    const ids: string[] = grants.access.accountIds
    console.log(ids)
  }
  await registry.removeCrossAccountAccess(repo.name, { platform: 'gcp', projectNumbers: ['123'] })
  await registry.addCrossAccountAccess(repo.name, { platform: 'azure', principalIds: ['4c9a2b7e-0d1f-4e8a-9b3c-2f6e1d0a5b7c'] })
  if (grants.access.platform === 'azure') {
    const principals: string[] = grants.access.principalIds
    console.log(principals)
  }
  await registry.deleteRepository(repo.name)
  const endpoint: string = registry.registryEndpoint()
  const prefix: string = registry.upstreamRepositoryPrefix()
  const headers: Record<string, string> = signAwsRequest({
    method: 'POST', url: 'https://api.ecr.us-east-1.amazonaws.com/', headers: { 'Content-Type': 'application/x-amz-json-1.1' },
    body: '{}', region: 'us-east-1', service: 'ecr', accessKeyId: 'AKID', secretAccessKey: 'secret', timestamp: '20261128T070000Z'
  })
  console.log(method, endpoint, prefix, headers.Authorization)
  try {
    await registry.getRepository('artifacts/missing')
  } catch (e) {
    if (e instanceof ArtifactRegistryError && e.code === 'not-found') {
      const status: number | null = e.httpStatus
      const code: string | null = e.providerCode
      console.log(status, code)
    }
  }
}

void main()
