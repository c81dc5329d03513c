import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, GetItemCommand, PutItemCommand,
  UpdateTimeToLiveCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDb } from '../../local/dynamodb/service';
import type { LocalStack } from '../../local/server';
import { clientConfig, startQuietStack } from './helpers';

let stack: LocalStack;
let ddb: DynamoDBClient;

beforeAll(async () => {
  ({ stack } = await startQuietStack());
  ddb = new DynamoDBClient(clientConfig(stack));
});

afterAll(async () => {
  ddb?.destroy();
  await stack?.stop();
});

describe('DynamoDB', () => {
  it('creates an ACTIVE table at once and stores items', async () => {
    const created = await ddb.send(new CreateTableCommand({
      TableName: 'tasks', BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'RequestID', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'RequestID', KeyType: 'HASH' }],
    }));
    expect(created.TableDescription?.TableName).toBe('tasks');
    expect((await ddb.send(new DescribeTableCommand({ TableName: 'tasks' }))).Table?.TableStatus).toBe('ACTIVE');
    await ddb.send(new PutItemCommand({ TableName: 'tasks', Item: { RequestID: { S: 'r1' }, Status: { S: 'PENDING' } } }));
    const got = await ddb.send(new GetItemCommand({ TableName: 'tasks', Key: { RequestID: { S: 'r1' } } }));
    expect(got.Item).toEqual({ RequestID: { S: 'r1' }, Status: { S: 'PENDING' } });
    await expect(ddb.send(new PutItemCommand({
      TableName: 'tasks', Item: { RequestID: { S: 'r1' } }, ConditionExpression: 'attribute_not_exists(RequestID)',
    }))).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  });

  it('records UpdateTimeToLive and answers DescribeTimeToLive in AWS shape', async () => {
    expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'tasks' }))).TimeToLiveDescription)
      .toEqual({ TimeToLiveStatus: 'DISABLED' });
    const updated = await ddb.send(new UpdateTimeToLiveCommand({
      TableName: 'tasks', TimeToLiveSpecification: { Enabled: true, AttributeName: 'ExpiresAt' },
    }));
    expect(updated.TimeToLiveSpecification).toEqual({ Enabled: true, AttributeName: 'ExpiresAt' });
    expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'tasks' }))).TimeToLiveDescription)
      .toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ExpiresAt' });
    await expect(ddb.send(new UpdateTimeToLiveCommand({
      TableName: 'tasks', TimeToLiveSpecification: { Enabled: true, AttributeName: 'ExpiresAt' },
    }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(ddb.send(new UpdateTimeToLiveCommand({
      TableName: 'missing', TimeToLiveSpecification: { Enabled: true, AttributeName: 'ExpiresAt' },
    }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('keeps tables and TTL settings in a data directory across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ddb-data-'));
    try {
      const first = await startQuietStack({ dataDir });
      const c1 = new DynamoDBClient(clientConfig(first.stack));
      await c1.send(new CreateTableCommand({
        TableName: 'kept', BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
      }));
      // As on AWS, a table is written to once it is ACTIVE: with a data directory its creation
      // lands on disk after CreateTable answers, and a PutItem before then finds no table.
      await waitUntilTableExists({ client: c1, maxWaitTime: 30, minDelay: 1 }, { TableName: 'kept' });
      await c1.send(new PutItemCommand({ TableName: 'kept', Item: { k: { S: 'v' } } }));
      await c1.send(new UpdateTimeToLiveCommand({ TableName: 'kept', TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' } }));
      c1.destroy();
      await first.stack.stop();

      const second = await startQuietStack({ dataDir });
      const c2 = new DynamoDBClient(clientConfig(second.stack));
      expect((await c2.send(new GetItemCommand({ TableName: 'kept', Key: { k: { S: 'v' } } }))).Item).toEqual({ k: { S: 'v' } });
      expect((await c2.send(new DescribeTimeToLiveCommand({ TableName: 'kept' }))).TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
      await c2.send(new DeleteTableCommand({ TableName: 'kept' }));
      c2.destroy();
      await second.stack.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('DynamoDB closing', () => {
  it('closes the store only after the requests handed to dynalite are answered', async () => {
    const dynamodb = await startDynamoDb();
    const server = createServer((req, res) => void dynamodb.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1,
    });
    const crashed = new Promise<string>((resolve) => process.once('uncaughtException', (error) => resolve(`crashed: ${error.message}`)));
    try {
      await client.send(new CreateTableCommand({
        TableName: 'tasks', BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'RequestID', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'RequestID', KeyType: 'HASH' }],
      }));
      const arrived = once(server, 'request');
      const put = client.send(new PutItemCommand({ TableName: 'tasks', Item: { RequestID: { S: 'late' } } }));
      const [req] = (await arrived) as [IncomingMessage];
      // The whole body is in: the request goes to dynalite on the next turn, while the store closes.
      await once(req, 'end');
      await dynamodb.close();
      expect(await Promise.race([put.then(() => 'answered', (error: Error) => `refused: ${error.name}`), crashed])).toBe('answered');
    } finally {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
