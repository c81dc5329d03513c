// The tasks table: created with its TTL, or deleted.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand, waitUntilTableExists, waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import { ExpectedError } from '../cli';
import { deleteIfPresent, isNotFound, type Log } from './clients';

/**
 * Creates the tasks table unless it exists, waits until it is ACTIVE, and turns TTL on (a warning,
 * not a failure, when the service refuses).
 */
export async function ensureTable(ddb: DynamoDBClient, table: { name: string; key: string; ttlAttribute: string }, log: Log): Promise<{ arn: string | undefined; created: boolean }> {
  let description;
  try {
    description = (await ddb.send(new DescribeTableCommand({ TableName: table.name }))).Table;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  let created = false;
  if (description) {
    const key = description.KeySchema ?? [];
    const type = description.AttributeDefinitions?.find((a) => a.AttributeName === table.key)?.AttributeType;
    if (key.length !== 1 || key[0]?.AttributeName !== table.key || type !== 'S') {
      throw new ExpectedError(`table ${table.name} exists but its key is not ${table.key} (string); choose another --name-prefix`);
    }
  } else {
    await ddb.send(new CreateTableCommand({
      TableName: table.name,
      AttributeDefinitions: [{ AttributeName: table.key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: table.key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    created = true;
  }
  if (description?.TableStatus !== 'ACTIVE') {
    await waitUntilTableExists({ client: ddb, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: table.name });
    description = (await ddb.send(new DescribeTableCommand({ TableName: table.name }))).Table;
  }
  log(`table ${table.name}: ${created ? 'created' : 'exists'} (${description?.TableStatus ?? 'ACTIVE'})`);
  await ensureTtl(ddb, table, log);
  return { arn: description?.TableArn, created };
}

/**
 * Turns TTL on for the table's expiry attribute; only warns when the service cannot.
 */
export async function ensureTtl(ddb: DynamoDBClient, table: { name: string; ttlAttribute: string }, log: Log): Promise<void> {
  try {
    const ttl = (await ddb.send(new DescribeTimeToLiveCommand({ TableName: table.name }))).TimeToLiveDescription;
    const on = ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING';
    if (on && ttl?.AttributeName === table.ttlAttribute) {
      log(`  TTL on ${table.ttlAttribute}: already on`);
      return;
    }
    if (on) {
      log(`  warning: TTL of ${table.name} is on for ${ttl?.AttributeName}, not ${table.ttlAttribute}; left as it is`);
      return;
    }
  } catch {
    // some services cannot describe TTL; try to set it anyway
  }
  try {
    await ddb.send(new UpdateTimeToLiveCommand({
      TableName: table.name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: table.ttlAttribute },
    }));
    log(`  TTL on ${table.ttlAttribute}: turned on`);
  } catch (err) {
    const e = (err as Error);
    log(`  warning: TTL on ${table.ttlAttribute} not set (${e.name}: ${String(e.message).split('\n')[0]}); expired tasks are still ignored by reads, only not deleted`);
  }
}

/**
 * Deletes the table and waits until it is gone.
 *
 * @returns false when it was already gone
 */
export async function deleteTable(ddb: DynamoDBClient, name: string): Promise<boolean> {
  const deleted = await deleteIfPresent(() => ddb.send(new DeleteTableCommand({ TableName: name })));
  if (deleted) await waitUntilTableNotExists({ client: ddb, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: name });
  return deleted;
}
