// The local stack's CloudFormation updates: what a resource type's reference marks "Update
// requires: No interruption" changes the resource in place through its service's own API (the
// physical id stays), what it marks "Replacement" still makes a new one; and a wait for a Lambda
// function to settle ends when the function is deleted meanwhile or the stack stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand, DescribeStackResourcesCommand, UpdateStackCommand,
  type Capability,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { APIGatewayClient, CreateRestApiCommand, GetRestApiCommand, UpdateRestApiCommand } from '@aws-sdk/client-api-gateway';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DeleteFunctionCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { LocalStack } from '../../local/server';
import type { StackSettledEvent } from '../../local/cloudformation/engine';
import { clientConfig, nextEvent, startQuietStack } from './helpers';

type Json = Record<string, unknown>;

const CAPABILITIES: Capability[] = ['CAPABILITY_IAM'];
const REPLACED = 'Requested update requires the creation of a new physical resource; hence creating one.';

let stack: LocalStack;
let cfn: CloudFormationClient;
let dynamodb: DynamoDBClient;
let apigateway: APIGatewayClient;
let iam: IAMClient;

/** A template of one resource. */
function one(logicalId: string, type: string, properties: Json): string {
  return JSON.stringify({ Resources: { [logicalId]: { Type: type, Properties: properties } } });
}

/** Starts a stack operation on `on` and resolves with its end. */
async function settled(on: LocalStack, name: string, start: () => Promise<unknown>): Promise<StackSettledEvent> {
  const done = nextEvent<StackSettledEvent>(on.events, 'stack-settled', (e) => e.stackName === name);
  await start();
  return done;
}

async function create(name: string, body: string): Promise<void> {
  const end = await settled(stack, name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: body, Capabilities: CAPABILITIES })));
  expect(end.status).toBe('CREATE_COMPLETE');
}

async function update(name: string, body: string): Promise<void> {
  const end = await settled(stack, name, () => cfn.send(new UpdateStackCommand({ StackName: name, TemplateBody: body, Capabilities: CAPABILITIES })));
  expect(end.status).toBe('UPDATE_COMPLETE');
}

async function physicalId(name: string, logicalId: string): Promise<string> {
  const answer = await cfn.send(new DescribeStackResourcesCommand({ StackName: name, LogicalResourceId: logicalId }));
  return answer.StackResources?.[0]?.PhysicalResourceId ?? '';
}

async function reasons(name: string, logicalId: string): Promise<string[]> {
  const answer = await cfn.send(new DescribeStackEventsCommand({ StackName: name }));
  return (answer.StackEvents ?? []).filter((e) => e.LogicalResourceId === logicalId).map((e) => e.ResourceStatusReason ?? '');
}

async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    return (err as Error).name;
  }
  throw new Error('the call was not refused');
}

beforeAll(async () => {
  ({ stack } = await startQuietStack({ lambdaStateDelayMs: 20 }));
  const config = clientConfig(stack);
  cfn = new CloudFormationClient(config);
  dynamodb = new DynamoDBClient(config);
  apigateway = new APIGatewayClient(config);
  iam = new IAMClient(config);
});

afterAll(async () => {
  await stack?.stop();
});

describe('CloudFormation updates in place what AWS updates without replacement', { timeout: 60_000 }, () => {
  it('DynamoDB table: BillingMode and throughput (the table\'s and an index\'s) by UpdateTable; a new KeySchema is a new table', async () => {
    const name = 'upd-table';
    const table = (billing: Json, key = 'id'): string => one('Table', 'AWS::DynamoDB::Table', {
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }, { AttributeName: 'owner', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [{
        IndexName: 'byOwner', KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' },
        ...(billing.index !== undefined && { ProvisionedThroughput: billing.index }),
      }],
      ...(billing.mode !== undefined && { BillingMode: billing.mode }),
      ...(billing.table !== undefined && { ProvisionedThroughput: billing.table }),
    });
    const tableOf = async (tableName: string) => (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    await create(name, table({ table: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }, index: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } }));
    const id = await physicalId(name, 'Table');

    await update(name, table({ mode: 'PAY_PER_REQUEST' }));
    expect(await physicalId(name, 'Table')).toBe(id);
    expect(await tableOf(id)).toMatchObject({ TableStatus: 'ACTIVE', BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' } });

    // Back to PROVISIONED, as a template gives the numbers (strings here); DynamoDB needs the index's too.
    await update(name, table({ mode: 'PROVISIONED', table: { ReadCapacityUnits: '3', WriteCapacityUnits: '4' }, index: { ReadCapacityUnits: 2, WriteCapacityUnits: 2 } }));
    expect(await physicalId(name, 'Table')).toBe(id);
    let described = await tableOf(id);
    expect(described?.BillingModeSummary?.BillingMode).toBe('PROVISIONED');
    expect(described?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 3, WriteCapacityUnits: 4 });
    expect(described?.GlobalSecondaryIndexes?.[0]?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 2, WriteCapacityUnits: 2 });

    // Only the table's throughput changes (the index's "2" is its 2): the index's is not sent, as
    // DynamoDB refuses a throughput equal to the current one.
    await update(name, table({ mode: 'PROVISIONED', table: { ReadCapacityUnits: 6, WriteCapacityUnits: 4 }, index: { ReadCapacityUnits: '2', WriteCapacityUnits: '2' } }));
    described = await tableOf(id);
    expect(described?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 6, WriteCapacityUnits: 4 });
    expect(await reasons(name, 'Table')).not.toContain(REPLACED);

    // KeySchema: Replacement.
    await update(name, table({ mode: 'PROVISIONED', table: { ReadCapacityUnits: 6, WriteCapacityUnits: 4 }, index: { ReadCapacityUnits: 2, WriteCapacityUnits: 2 } }, 'pk'));
    const replaced = await physicalId(name, 'Table');
    expect(replaced).not.toBe(id);
    expect((await tableOf(replaced))?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(await refusal(dynamodb.send(new DescribeTableCommand({ TableName: id })))).toBe('ResourceNotFoundException');
    expect(await reasons(name, 'Table')).toContain(REPLACED);
  });

  it('REST API: name, description, binary media types and endpoint type by UpdateRestApi, the same API', async () => {
    const name = 'upd-restapi';
    await create(name, one('Api', 'AWS::ApiGateway::RestApi', {
      Name: 'first', Description: 'one', BinaryMediaTypes: ['image/png'], EndpointConfiguration: { Types: ['EDGE'] },
    }));
    const id = await physicalId(name, 'Api');
    await update(name, one('Api', 'AWS::ApiGateway::RestApi', {
      Name: 'second', Description: 'two', BinaryMediaTypes: ['image/jpeg', 'application/octet-stream'], EndpointConfiguration: { Types: ['REGIONAL'] },
    }));
    expect(await physicalId(name, 'Api')).toBe(id);
    const api = await apigateway.send(new GetRestApiCommand({ restApiId: id }));
    expect(api).toMatchObject({ name: 'second', description: 'two', endpointConfiguration: { types: ['REGIONAL'] } });
    expect([...(api.binaryMediaTypes ?? [])].sort()).toEqual(['application/octet-stream', 'image/jpeg']);

    // Taken out of the template: no binary media types, and CreateRestApi's default endpoint type.
    await update(name, one('Api', 'AWS::ApiGateway::RestApi', { Name: 'second', Description: 'two' }));
    expect(await physicalId(name, 'Api')).toBe(id);
    const cleared = await apigateway.send(new GetRestApiCommand({ restApiId: id }));
    expect(cleared.binaryMediaTypes).toBeUndefined();
    expect(cleared.endpointConfiguration?.types).toEqual(['EDGE']);
    expect(await reasons(name, 'Api')).not.toContain(REPLACED);
  });

  it('UpdateRestApi takes the endpoint type by index or by the type it replaces', async () => {
    const { id } = await apigateway.send(new CreateRestApiCommand({ name: 'endpoint-paths' }));
    await apigateway.send(new UpdateRestApiCommand({ restApiId: id, patchOperations: [{ op: 'replace', path: '/endpointConfiguration/types/EDGE', value: 'REGIONAL' }] }));
    expect((await apigateway.send(new GetRestApiCommand({ restApiId: id }))).endpointConfiguration?.types).toEqual(['REGIONAL']);
    await apigateway.send(new UpdateRestApiCommand({ restApiId: id, patchOperations: [{ op: 'replace', path: '/endpointConfiguration/types/0', value: 'PRIVATE' }] }));
    expect((await apigateway.send(new GetRestApiCommand({ restApiId: id }))).endpointConfiguration?.types).toEqual(['PRIVATE']);
    expect(await refusal(apigateway.send(new UpdateRestApiCommand({ restApiId: id, patchOperations: [{ op: 'replace', path: '/endpointConfiguration/types/EDGE', value: 'REGIONAL' }] }))))
      .toBe('BadRequestException');
  });

  it('IAM role: Description and MaxSessionDuration by UpdateRole, the same role; a new Path is a new role', async () => {
    const name = 'upd-role';
    const role = (extra: Json): string => one('Role', 'AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
      ...extra,
    });
    await create(name, role({ Description: 'first', MaxSessionDuration: 3600 }));
    const roleName = await physicalId(name, 'Role');
    await update(name, role({ Description: 'second', MaxSessionDuration: 7200 }));
    expect(await physicalId(name, 'Role')).toBe(roleName);
    expect((await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role).toMatchObject({ Description: 'second', MaxSessionDuration: 7200, Path: '/' });
    expect(await reasons(name, 'Role')).not.toContain(REPLACED);

    // Path: Replacement.
    await update(name, role({ Description: 'second', MaxSessionDuration: 7200, Path: '/team/' }));
    const replaced = await physicalId(name, 'Role');
    expect(replaced).not.toBe(roleName);
    expect((await iam.send(new GetRoleCommand({ RoleName: replaced }))).Role).toMatchObject({ Path: '/team/', Description: 'second', MaxSessionDuration: 7200 });
    expect(await refusal(iam.send(new GetRoleCommand({ RoleName: roleName })))).toBe('NoSuchEntityException');
  });
});

describe('CloudFormation waiting for a Lambda function that does not settle', { timeout: 20_000 }, () => {
  const FUNCTION = 'cfn-never-settles';
  const template = one('Fn', 'AWS::Lambda::Function', {
    FunctionName: FUNCTION, Runtime: 'nodejs20.x', Handler: 'index.handler', Role: 'arn:aws:iam::000000000000:role/any',
    Code: { ZipFile: 'exports.handler = async () => 1;' },
  });

  /** A stack whose functions stay Pending far longer than the test, and clients for it. */
  async function slowStack(): Promise<{ slow: LocalStack; cfn: CloudFormationClient; lambda: LambdaClient }> {
    const { stack: slow } = await startQuietStack({ lambdaStateDelayMs: 600_000 });
    return { slow, cfn: new CloudFormationClient(clientConfig(slow)), lambda: new LambdaClient(clientConfig(slow)) };
  }

  /** Resolves once CloudFormation's CreateFunction has landed: Lambda tells no event of it, so GetFunction is asked again until it answers. */
  async function created(lambda: LambdaClient): Promise<void> {
    for (;;) {
      try {
        await lambda.send(new GetFunctionCommand({ FunctionName: FUNCTION }));
        return;
      } catch (err) {
        if ((err as Error).name !== 'ResourceNotFoundException') throw err;
      }
    }
  }

  it('Secrets Manager secret: Description and a new SecretString in place (a new AWSCURRENT version), the same ARN; a new Name is a new secret', async () => {
    /** A Secrets Manager call over its JSON protocol (no SDK client in the project's dependencies). */
    const call = async (operation: string, input: Json): Promise<Json> => {
      const answer = await fetch(stack.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `secretsmanager.${operation}`,
          Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00',
        },
        body: JSON.stringify(input),
      });
      return await answer.json() as Json;
    };
    const name = 'cfn-upd-secret';
    await create(name, one('Secret', 'AWS::SecretsManager::Secret', { Description: 'first', SecretString: 'value-1' }));
    const arn = await physicalId(name, 'Secret');
    await update(name, one('Secret', 'AWS::SecretsManager::Secret', { Description: 'second', SecretString: 'value-2' }));
    expect(await physicalId(name, 'Secret')).toBe(arn);
    expect(await call('DescribeSecret', { SecretId: arn })).toMatchObject({ ARN: arn, Description: 'second' });
    expect(await call('GetSecretValue', { SecretId: arn })).toMatchObject({ SecretString: 'value-2', VersionStages: ['AWSCURRENT'] });
    expect(await call('GetSecretValue', { SecretId: arn, VersionStage: 'AWSPREVIOUS' })).toMatchObject({ SecretString: 'value-1' });
    expect(await reasons(name, 'Secret')).not.toContain(REPLACED);

    // A reference names a version by stage or id; one that is not there fails the resource.
    await create(`${name}-ref`, one('P', 'AWS::SSM::Parameter', { Type: 'String', Value: `{{resolve:secretsmanager:${arn}:SecretString::AWSPREVIOUS}}` }));
    const ssm = new SSMClient(clientConfig(stack));
    expect((await ssm.send(new GetParameterCommand({ Name: await physicalId(`${name}-ref`, 'P') }))).Parameter?.Value).toBe('value-1');
    ssm.destroy();
    const missing = await settled(stack, `${name}-missing`, () => cfn.send(new CreateStackCommand({
      StackName: `${name}-missing`, TemplateBody: one('P', 'AWS::SSM::Parameter', { Type: 'String', Value: `{{resolve:secretsmanager:${arn}:SecretString:::no-such-version}}` }),
    })));
    expect(missing.status).toBe('ROLLBACK_COMPLETE');
    expect(await reasons(`${name}-missing`, 'P')).toContain("Secrets Manager can't find the specified secret value for VersionId: no-such-version");

    await update(name, one('Secret', 'AWS::SecretsManager::Secret', { Name: 'named-secret', Description: 'second', SecretString: 'value-2' }));
    const renamed = await physicalId(name, 'Secret');
    expect(renamed).toMatch(/:secret:named-secret-[A-Za-z0-9]{6}$/);
    expect(await call('DescribeSecret', { SecretId: arn })).toMatchObject({ __type: 'ResourceNotFoundException' });
  });

  it('fails the resource with Lambda\'s NotFound when the function is deleted meanwhile; the stack then stops', async () => {
    const { slow, cfn: client, lambda } = await slowStack();
    try {
      const end = settled(slow, 'cfn-deleted-fn', () => client.send(new CreateStackCommand({ StackName: 'cfn-deleted-fn', TemplateBody: template })));
      await created(lambda);
      expect((await lambda.send(new GetFunctionCommand({ FunctionName: FUNCTION }))).Configuration?.State).toBe('Pending');
      await lambda.send(new DeleteFunctionCommand({ FunctionName: FUNCTION }));
      expect((await end).status).toBe('ROLLBACK_COMPLETE');
      const events = (await client.send(new DescribeStackEventsCommand({ StackName: 'cfn-deleted-fn' }))).StackEvents ?? [];
      const failed = events.find((e) => e.LogicalResourceId === 'Fn' && e.ResourceStatus === 'CREATE_FAILED');
      expect(failed?.ResourceStatusReason).toMatch(
        /^Resource handler returned message: "Function not found: arn:aws:lambda:us-east-1:000000000000:function:cfn-never-settles" \(RequestToken: [0-9a-f-]+, HandlerErrorCode: NotFound\)$/,
      );
    } finally {
      client.destroy();
      lambda.destroy();
      await slow.stop();
    }
  });

  it('ends the stack operation when the stack stops meanwhile, so that stop() resolves', async () => {
    const { slow, cfn: client, lambda } = await slowStack();
    const end = settled(slow, 'cfn-stopped', () => client.send(new CreateStackCommand({ StackName: 'cfn-stopped', TemplateBody: template })));
    await created(lambda);
    client.destroy();
    lambda.destroy();
    await slow.stop();
    // The function could not be asked about any more: the creation failed and was rolled back.
    expect((await end).status).toBe('ROLLBACK_COMPLETE');
  });
});
