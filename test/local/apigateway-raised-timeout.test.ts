// A raised integration timeout on a buffered integration (a quota increase on AWS): the stack
// started with a 60 s quota accepts a timeoutInMillis up to it and waits that long; without the
// raise, PutIntegration refuses anything above 29 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APIGatewayClient, CreateDeploymentCommand, CreateRestApiCommand, GetResourcesCommand, PutIntegrationCommand, PutMethodCommand,
} from '@aws-sdk/client-api-gateway';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { LocalStack } from '../../local/server';
import { clientConfig, allowApiGateway, createFunction, startQuietStack } from './helpers';

const uri = 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:slow/invocations';

let raised: LocalStack;
let standard: LocalStack;

beforeAll(async () => {
  [{ stack: raised }, { stack: standard }] = await Promise.all([startQuietStack({ integrationTimeoutMs: 60_000 }), startQuietStack()]);
});

afterAll(async () => {
  await Promise.all([raised?.stop(), standard?.stop()]);
});

async function apiWithRoot(stack: LocalStack): Promise<{ apigw: APIGatewayClient; apiId: string; rootId: string }> {
  const apigw = new APIGatewayClient(clientConfig(stack));
  const apiId = (await apigw.send(new CreateRestApiCommand({ name: 'raised' }))).id ?? '';
  const rootId = (await apigw.send(new GetResourcesCommand({ restApiId: apiId }))).items?.[0]?.id ?? '';
  await apigw.send(new PutMethodCommand({ restApiId: apiId, resourceId: rootId, httpMethod: 'ANY', authorizationType: 'NONE' }));
  return { apigw, apiId, rootId };
}

describe('a raised buffered integration timeout', () => {
  it('is refused above 29 s without the raise', async () => {
    const { apigw, apiId, rootId } = await apiWithRoot(standard);
    await expect(apigw.send(new PutIntegrationCommand({
      restApiId: apiId, resourceId: rootId, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST', uri, timeoutInMillis: 31_000,
    }))).rejects.toMatchObject({ name: 'BadRequestException', message: 'Timeout should be between 50 ms and 29000 ms' });
    apigw.destroy();
  });

  it('is accepted up to the raised quota, and the invoke URL waits that long: a 30 s function answers instead of a 504 at 29 s', async () => {
    const lambda = new LambdaClient(clientConfig(raised));
    await createFunction(lambda, 'slow', 'exports.handler = async () => { await new Promise((r) => setTimeout(r, 30_000)); return { statusCode: 200, body: "after 30 s" }; };', { Timeout: 40 });
    await allowApiGateway(lambda, 'slow');
    const { apigw, apiId, rootId } = await apiWithRoot(raised);
    await expect(apigw.send(new PutIntegrationCommand({
      restApiId: apiId, resourceId: rootId, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST', uri, timeoutInMillis: 60_001,
    }))).rejects.toMatchObject({ message: 'Timeout should be between 50 ms and 60000 ms' });
    const integration = await apigw.send(new PutIntegrationCommand({
      restApiId: apiId, resourceId: rootId, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST', uri, timeoutInMillis: 35_000,
    }));
    expect(integration).toMatchObject({ timeoutInMillis: 35_000, responseTransferMode: 'BUFFERED' });
    await apigw.send(new CreateDeploymentCommand({ restApiId: apiId, stageName: 'dev' }));
    const response = await fetch(`${raised.url}/_aws/execute-api/${apiId}/dev/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('after 30 s');
    apigw.destroy();
    lambda.destroy();
  }, 60_000);
});
