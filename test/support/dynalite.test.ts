import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startDynamo } from './dynalite';

describe('the test DynamoDB', () => {
  it('stops only after the requests it has received are answered, so that none runs on a closed database', async () => {
    const dynamo = await startDynamo();
    await dynamo.createTable('tasks');
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const received = once(dynamo.backend, 'request');
      // A caller that gave up: its PutItem is in flight when the test ends and stops the server.
      const put = dynamo.client.send(new PutItemCommand({ TableName: 'tasks', Item: { RequestID: { S: 'late' } } })).catch((error: unknown) => error);
      await received;
      await dynamo.stop();
      await put;
      // an uncaught error would be raised on a later turn of the event loop
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
