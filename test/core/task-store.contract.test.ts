import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../core/dynamodb-task-store';
import { MemoryTaskStore } from '../../core/memory-task-store';
import type { TaskStore } from '../../core/task-store';
import { startDynamo, testCredentials, type TestDynamo } from '../support/dynalite';

// The same contract for both stores: the in-memory one is only trusted (for fuzzing) because it
// passes exactly what the DynamoDB one passes on dynalite.
let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startDynamo();
  await dynamo.createTable('contract');
});
afterAll(async () => {
  await dynamo.stop();
});

const stores: Array<[string, () => TaskStore]> = [
  ['DynamoTaskStore on dynalite', () => new DynamoTaskStore({ tableName: 'contract', clientConfig: { endpoint: dynamo.endpoint, region: 'us-east-1', credentials: testCredentials } })],
  ['MemoryTaskStore', () => new MemoryTaskStore()],
];

const NOW = 1_800_000_000_000;
const newTask = (requestId = randomUUID()) => ({ requestId, createdAt: NOW, pendingDeadline: NOW + 60_000, expiresAt: NOW / 1000 + 3600 });
const result = { body: new Uint8Array(Buffer.from('{"statusCode":200}')), encoding: 'identity' as const };

describe.each(stores)('%s', (_name, make) => {
  it('creates a PENDING task that reads back, and reads an unknown one as absent', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    expect(await store.readStatus(task.requestId, NOW)).toMatchObject({ status: 'PENDING', createdAt: NOW, pendingDeadline: NOW + 60_000 });
    expect(await store.readStatus(randomUUID(), NOW)).toBeUndefined();
  });

  it('lets exactly one claim win, and none after the pending deadline', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    const claims = await Promise.all([1, 2, 3].map((n) => store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: `t${n}` })));
    expect(claims.filter(Boolean)).toEqual([{ expiresAt: task.expiresAt }]);
    const late = newTask();
    await store.createTask(late);
    expect(await store.claimTask(late.requestId, { now: NOW + 60_000, deadline: NOW + 70_000, claimedBy: 'x' })).toBeUndefined();
  });

  it('completes only a RUNNING task, and keeps the result for one read', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    expect(await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt })).toBe(false);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    expect(await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt })).toBe(true);
    expect((await store.readStatus(task.requestId, NOW))?.status).toBe('CREATED');
    const stored = await store.readResult(task.requestId);
    expect(Buffer.from(stored?.body ?? []).toString()).toBe('{"statusCode":200}');
  });

  it('declares a task lost only once its deadline has passed, and a late completion then fails', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    const lost = { kind: 'LOST' as const, message: 'gone' };
    expect(await store.failTask(task.requestId, lost, NOW + 999, ['RUNNING'])).toBe(false);
    expect(await store.failTask(task.requestId, lost, NOW + 1000, ['RUNNING'])).toBe(true);
    expect(await store.completeTask(task.requestId, result, { now: NOW + 1001, expiresAt: task.expiresAt })).toBe(false);
    expect(await store.readStatus(task.requestId, NOW + 1001)).toMatchObject({ status: 'FAILED', failure: { kind: 'LOST', message: 'gone' } });
  });

  it('retires with a grace that only shortens a task\'s life, or deletes it at once', async () => {
    const store = make();
    const kept = newTask();
    const deleted = newTask();
    await store.createTask(kept);
    await store.createTask(deleted);
    await store.retireTask(kept.requestId, { now: NOW, graceSeconds: 60 });
    await store.retireTask(kept.requestId, { now: NOW + 30_000, graceSeconds: 600 });
    expect((await store.readStatus(kept.requestId, NOW))?.expiresAt).toBe(NOW / 1000 + 60);
    expect(await store.readStatus(kept.requestId, NOW + 60_000)).toBeUndefined();
    await store.retireTask(deleted.requestId, { now: NOW, graceSeconds: 0 });
    expect(await store.readStatus(deleted.requestId, NOW)).toBeUndefined();
  });

  it('gives an idempotency key to its first request, and the same answer to every later one', async () => {
    const store = make();
    const keyHash = randomUUID();
    const first = await store.reserveIdempotencyKey({ keyHash, requestId: 'a', fingerprint: 'f1', now: NOW, expiresAt: NOW / 1000 + 60 });
    const second = await store.reserveIdempotencyKey({ keyHash, requestId: 'b', fingerprint: 'f2', now: NOW, expiresAt: NOW / 1000 + 60 });
    expect(first).toEqual({ reserved: true, requestId: 'a', fingerprint: 'f1' });
    expect(second).toEqual({ reserved: false, requestId: 'a', fingerprint: 'f1' });
    const lapsed = await store.reserveIdempotencyKey({ keyHash, requestId: 'c', fingerprint: 'f3', now: NOW + 61_000, expiresAt: NOW / 1000 + 120 });
    expect(lapsed.reserved).toBe(true);
  });
});
