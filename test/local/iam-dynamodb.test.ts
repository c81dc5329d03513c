// DynamoDB calls of a function's session, evaluated as AWS evaluates them: the table's ARN names the
// region the request was signed for, and a refusal is a coral AccessDeniedException.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, ListTablesCommand, QueryCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { LocalStack } from '../../local/server';
import { clientConfig, payloadJson, startQuietStack, zipOf } from './helpers';

const ACCOUNT = '000000000000';
const TRUST = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
type Session = { accessKeyId: string; secretAccessKey: string; sessionToken: string };

describe('DynamoDB and a function\'s execution role', () => {
  let stack: LocalStack;
  let session: Session;

  beforeAll(async () => {
    ({ stack } = await startQuietStack());
    const iam = new IAMClient(clientConfig(stack));
    const lambda = new LambdaClient(clientConfig(stack));
    const admin = new DynamoDBClient({ ...clientConfig(stack), region: 'eu-west-1' });
    await iam.send(new CreateRoleCommand({ RoleName: 'regional', AssumeRolePolicyDocument: TRUST }));
    await iam.send(new PutRolePolicyCommand({
      RoleName: 'regional', PolicyName: 'read',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/regional` }] }),
    }));
    await admin.send(new CreateTableCommand({
      TableName: 'regional', BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }));
    // The function tells its session's credentials, which the test then signs with.
    await lambda.send(new CreateFunctionCommand({
      FunctionName: 'regional', Runtime: 'nodejs20.x', Role: `arn:aws:iam::${ACCOUNT}:role/regional`, Handler: 'index.handler',
      Code: { ZipFile: zipOf({ 'index.js': 'exports.handler = async () => ({ accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY, sessionToken: process.env.AWS_SESSION_TOKEN });' }) },
    }));
    session = payloadJson((await lambda.send(new InvokeCommand({ FunctionName: 'regional' }))).Payload) as Session;
    expect(session.accessKeyId).toMatch(/^ASIA/);
    iam.destroy();
    lambda.destroy();
    admin.destroy();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('evaluates the table\'s ARN in the region the request was signed for', async () => {
    const client = (region: string): DynamoDBClient => new DynamoDBClient({ endpoint: stack.url, region, credentials: session, maxAttempts: 1 });
    const europe = client('eu-west-1');
    const virginia = client('us-east-1');
    try {
      await expect(europe.send(new GetItemCommand({ TableName: 'regional', Key: { id: { S: 'x' } } }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
      await expect(virginia.send(new GetItemCommand({ TableName: 'regional', Key: { id: { S: 'x' } } }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/regional/regional is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/regional because no identity-based policy allows the dynamodb:GetItem action`,
      });
    } finally {
      europe.destroy();
      virginia.destroy();
    }
  });

  it('answers AccessDeniedException in the coral shape, with a capital-M Message', async () => {
    // Signatures are not checked: the credential scope names the caller and the region.
    const answer = await fetch(stack.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.GetItem',
        Authorization: `AWS4-HMAC-SHA256 Credential=${session.accessKeyId}/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00`,
      },
      body: JSON.stringify({ TableName: 'regional', Key: { id: { S: 'x' } } }),
    });
    expect(answer.status).toBe(400);
    const body = await answer.json() as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['Message', '__type']);
    expect(body.__type).toBe('com.amazon.coral.service#AccessDeniedException');
    expect(body.Message).toMatch(/^User: arn:aws:sts::000000000000:assumed-role\/regional\/regional is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:/);
  });

  // AWS's Service Authorization Reference for DynamoDB: Query and Scan of an index need the
  // index's ARN (table/T/index/I); TransactWriteItems has no action of its own, each item needs
  // its own (PutItem, UpdateItem, DeleteItem, ConditionCheckItem); ListTables is on "*".
  it('checks a Query of an index on the index, a transaction item by item, ListTables on *', async () => {
    const iam = new IAMClient(clientConfig(stack));
    const admin = new DynamoDBClient({ ...clientConfig(stack), region: 'eu-west-1' });
    const europe = new DynamoDBClient({ endpoint: stack.url, region: 'eu-west-1', credentials: session, maxAttempts: 1 });
    const table = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/indexed`;
    const grant = (statements: Array<Record<string, unknown>>) => iam.send(new PutRolePolicyCommand({
      RoleName: 'regional', PolicyName: 'indexed', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }));
    const denied = (promise: Promise<unknown>) => promise.then(() => 'allowed', (err: Error) => (err.name === 'AccessDeniedException' ? `denied: ${/on resource: (\S+)/.exec(err.message)?.[1]}` : err.name));
    try {
      await admin.send(new CreateTableCommand({
        TableName: 'indexed', BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }, { AttributeName: 'owner', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [{ IndexName: 'byOwner', KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      }));
      const query = () => europe.send(new QueryCommand({ TableName: 'indexed', IndexName: 'byOwner', KeyConditionExpression: '#o = :o', ExpressionAttributeNames: { '#o': 'owner' }, ExpressionAttributeValues: { ':o': { S: 'me' } } }));
      const transact = () => europe.send(new TransactWriteItemsCommand({ TransactItems: [
        { Put: { TableName: 'indexed', Item: { id: { S: 'a' }, owner: { S: 'me' } } } },
        { Delete: { TableName: 'indexed', Key: { id: { S: 'b' } } } },
      ] }));
      await grant([{ Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:TransactWriteItems'], Resource: table }]);
      expect(await denied(query())).toBe(`denied: ${table}/index/byOwner`);
      expect(await denied(transact())).toBe(`denied: ${table}`);
      expect(await denied(europe.send(new ListTablesCommand({})))).toBe('denied: *');
      await grant([
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: `${table}/index/*` },
        { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: table },
        { Effect: 'Allow', Action: 'dynamodb:ListTables', Resource: '*' },
      ]);
      expect([await denied(query()), await denied(europe.send(new ListTablesCommand({})))]).toEqual(['allowed', 'allowed']);
      // Past IAM, dynalite has no transactions: the call fails as an unknown operation, not AccessDenied.
      expect(await denied(transact())).toBe('UnknownOperationException');
    } finally {
      iam.destroy();
      admin.destroy();
      europe.destroy();
    }
  });
});
