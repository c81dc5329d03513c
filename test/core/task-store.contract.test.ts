import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../core/dynamodb-task-store';
import { MemoryTaskStore } from '../../core/memory-task-store';
import { StoreUnavailableError, type TaskStore } from '../../core/task-store';
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
const newTask = (requestId = randomUUID()) => ({ requestId, createdAt: NOW, pendingDeadline: NOW + 60_000, expiresAt: NOW / 1000 + 3600, tokenHash: `hash-of-${requestId}` });
const result = { body: new Uint8Array(Buffer.from('{"statusCode":200}')), encoding: 'identity' as const };

describe.each(stores)('%s', (_name, make) => {
  it('creates a PENDING task that reads back, and reads an unknown one as absent', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    expect(await store.readStatus(task.requestId, NOW)).toMatchObject({ status: 'PENDING', createdAt: NOW, pendingDeadline: NOW + 60_000, tokenHashes: [task.tokenHash] });
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

  it('completes only a RUNNING task, and only for its own claim', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    expect(await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt, claimedBy: 't' })).toBe(false);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    expect(await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt, claimedBy: 'another' })).toBe(false);
    expect(await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt, claimedBy: 't' })).toBe(true);
    expect((await store.readStatus(task.requestId, NOW))?.status).toBe('CREATED');
    const stored = await store.readResult(task.requestId);
    expect(Buffer.from(stored?.body ?? []).toString()).toBe('{"statusCode":200}');
  });

  it('keeps a small result with the status: the read that finds CREATED carries it, none apart', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    expect((await store.readStatus(task.requestId, NOW))?.result).toBeUndefined();
    expect(await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt, claimedBy: 't', inline: true })).toBe(true);
    const view = await store.readStatus(task.requestId, NOW);
    expect(view?.status).toBe('CREATED');
    expect(view?.result?.encoding).toBe('identity');
    expect(Buffer.from(view?.result?.body ?? []).toString()).toBe('{"statusCode":200}');
    expect(await store.readResult(task.requestId)).toBeUndefined();
    // A retry of the same completion recognises itself; another claim's does not.
    expect(await store.completeTask(task.requestId, result, { now: NOW + 1, expiresAt: task.expiresAt, claimedBy: 't', inline: true })).toBe(true);
    expect(await store.completeTask(task.requestId, result, { now: NOW + 1, expiresAt: task.expiresAt, claimedBy: 'another', inline: true })).toBe(false);
    // A result kept apart is not in the status read.
    const apart = newTask();
    await store.createTask(apart);
    await store.claimTask(apart.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    await store.completeTask(apart.requestId, { body: new Uint8Array([1, 2, 3]), encoding: 'gzip' }, { now: NOW, expiresAt: apart.expiresAt, claimedBy: 't' });
    expect((await store.readStatus(apart.requestId, NOW))?.result).toBeUndefined();
    expect(await store.readResult(apart.requestId)).toEqual({ body: new Uint8Array([1, 2, 3]), encoding: 'gzip' });
  });

  it('keeps an inline result apart when its completion is refused: it is never lost', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    expect(await store.failTask(task.requestId, { kind: 'LOST', message: 'gone' }, NOW + 1000, ['RUNNING'])).toBe(true);
    expect(await store.completeTask(task.requestId, result, { now: NOW + 1001, expiresAt: task.expiresAt, claimedBy: 't', inline: true })).toBe(false);
    const view = await store.readStatus(task.requestId, NOW + 1001);
    expect(view?.status).toBe('FAILED');
    expect(view?.result).toBeUndefined();
    expect(Buffer.from((await store.readResult(task.requestId))?.body ?? []).toString()).toBe('{"statusCode":200}');
    // A row that is gone (delivered and deleted, or expired) has no reader left: nothing is kept.
    const gone = newTask();
    await store.createTask(gone);
    await store.claimTask(gone.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    await store.retireTask(gone.requestId, { now: NOW, graceSeconds: 0, delivered: true });
    expect(await store.completeTask(gone.requestId, result, { now: NOW, expiresAt: gone.expiresAt, claimedBy: 't', inline: true })).toBe(false);
    expect(await store.readResult(gone.requestId)).toBeUndefined();
  });

  it('retires a delivered inline result with its task: in the grace period the status read still carries it, then nothing is left', async () => {
    const store = make();
    const kept = newTask();
    const deleted = newTask();
    for (const task of [kept, deleted]) {
      await store.createTask(task);
      await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
      await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt, claimedBy: 't', inline: true });
    }
    await store.retireTask(kept.requestId, { now: NOW, graceSeconds: 60, delivered: true, resultInline: true });
    expect((await store.readStatus(kept.requestId, NOW + 59_000))?.result).toBeDefined();
    expect(await store.readStatus(kept.requestId, NOW + 60_000)).toBeUndefined();
    await store.retireTask(deleted.requestId, { now: NOW, graceSeconds: 0, delivered: true, resultInline: true });
    expect(await store.readStatus(deleted.requestId, NOW)).toBeUndefined();
    expect(await store.readResult(deleted.requestId)).toBeUndefined();
  });

  it('declares a task lost only once its deadline has passed, and a late completion then fails', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    const lost = { kind: 'LOST' as const, message: 'gone' };
    expect(await store.failTask(task.requestId, lost, NOW + 999, ['RUNNING'])).toBe(false);
    expect(await store.failTask(task.requestId, lost, NOW + 1000, ['RUNNING'])).toBe(true);
    expect(await store.completeTask(task.requestId, result, { now: NOW + 1001, expiresAt: task.expiresAt, claimedBy: 't' })).toBe(false);
    expect(await store.readStatus(task.requestId, NOW + 1001)).toMatchObject({ status: 'FAILED', failure: { kind: 'LOST', message: 'gone' } });
  });

  it('retires with a grace that only shortens a task\'s life, or deletes it at once', async () => {
    const store = make();
    const kept = newTask();
    const deleted = newTask();
    await store.createTask(kept);
    await store.createTask(deleted);
    await store.retireTask(kept.requestId, { now: NOW, graceSeconds: 60, delivered: true });
    await store.retireTask(kept.requestId, { now: NOW + 30_000, graceSeconds: 600, delivered: true });
    expect((await store.readStatus(kept.requestId, NOW))?.expiresAt).toBe(NOW / 1000 + 60);
    expect(await store.readStatus(kept.requestId, NOW + 60_000)).toBeUndefined();
    await store.retireTask(deleted.requestId, { now: NOW, graceSeconds: 0, delivered: true });
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

  it('records a failure for its own claim only', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 60_000, claimedBy: 't' });
    const failure = { kind: 'MAIN_ERROR' as const, message: 'boom' };
    expect(await store.failTask(task.requestId, failure, NOW, ['RUNNING'], { claimedBy: 'another' })).toBe(false);
    expect(await store.failTask(task.requestId, failure, NOW, ['RUNNING'], { claimedBy: 't' })).toBe(true);
    expect((await store.readStatus(task.requestId, NOW))?.failure).toEqual(failure);
  });

  it('treats a second write of the same task as its own success, and a claim retried by its claimer too', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    await store.createTask(task);
    await expect(store.createTask({ ...task, tokenHash: 'someone-else' })).rejects.toThrow(/exists already/);
    const first = await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 'me' });
    expect(await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 'me' })).toEqual(first);
    expect(await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 'a twin' })).toBeUndefined();
  });

  it('lets a joining caller\'s token read the task, while it lives', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    expect(await store.addTaskToken(task.requestId, 'joiner', NOW)).toBe(true);
    expect(await store.addTaskToken(task.requestId, 'joiner', NOW)).toBe(true);
    expect((await store.readStatus(task.requestId, NOW))?.tokenHashes.sort()).toEqual([task.tokenHash, 'joiner'].sort());
    expect(await store.addTaskToken(randomUUID(), 'joiner', NOW)).toBe(false);
    expect(await store.addTaskToken(task.requestId, 'late', (task.expiresAt + 1) * 1000)).toBe(false);
  });

  it('abandons a task nobody claimed (a tombstone no Talker can claim), but not one a Talker has, nor one that is gone', async () => {
    const store = make();
    const unclaimed = newTask();
    const claimed = newTask();
    await store.createTask(unclaimed);
    await store.createTask(claimed);
    await store.claimTask(claimed.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    expect(await store.abandonTask(unclaimed.requestId, NOW)).toBe('abandoned');
    expect((await store.readStatus(unclaimed.requestId, NOW))?.status).toBe('ABANDONED');
    expect(await store.claimTask(unclaimed.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 'late' })).toBeUndefined();
    expect(await store.abandonTask(claimed.requestId, NOW)).toBe('started');
    expect((await store.readStatus(claimed.requestId, NOW))?.status).toBe('RUNNING');
    // A row that is gone may have been delivered and retired: not "nothing ran".
    expect(await store.abandonTask(randomUUID(), NOW)).toBe('started');
  });

  it('keeps a stored result when a failure is retired, and deletes it with a delivered task', async () => {
    const store = make();
    const failed = newTask();
    await store.createTask(failed);
    await store.claimTask(failed.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    await store.completeTask(failed.requestId, result, { now: NOW, expiresAt: failed.expiresAt, claimedBy: 't' });
    await store.retireTask(failed.requestId, { now: NOW, graceSeconds: 0, delivered: false });
    expect(await store.readStatus(failed.requestId, NOW)).toBeUndefined();
    expect(await store.readResult(failed.requestId)).toBeDefined();
    const delivered = newTask();
    await store.createTask(delivered);
    await store.claimTask(delivered.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    await store.completeTask(delivered.requestId, result, { now: NOW, expiresAt: delivered.expiresAt, claimedBy: 't' });
    await store.retireTask(delivered.requestId, { now: NOW, graceSeconds: 0, delivered: true });
    expect(await store.readResult(delivered.requestId)).toBeUndefined();
  });

  it('stores a result even when the status update is refused, and keeps it', async () => {
    const store = make();
    const task = newTask();
    await store.createTask(task);
    await store.claimTask(task.requestId, { now: NOW, deadline: NOW + 1000, claimedBy: 't' });
    expect(await store.completeTask(task.requestId, result, { now: NOW, expiresAt: task.expiresAt, claimedBy: 'not-the-claim' })).toBe(false);
    expect((await store.readStatus(task.requestId, NOW))?.status).toBe('RUNNING');
    expect(Buffer.from((await store.readResult(task.requestId))?.body ?? []).toString()).toBe('{"statusCode":200}');
  });

  it('recognises a completion or a failure record made again for the same claim', async () => {
    const store = make();
    const done = newTask();
    await store.createTask(done);
    await store.claimTask(done.requestId, { now: NOW, deadline: NOW + 60_000, claimedBy: 'c1' });
    expect(await store.completeTask(done.requestId, result, { now: NOW, expiresAt: done.expiresAt, claimedBy: 'c1' })).toBe(true);
    expect(await store.completeTask(done.requestId, result, { now: NOW + 1, expiresAt: done.expiresAt, claimedBy: 'c1' })).toBe(true);
    expect(await store.completeTask(done.requestId, result, { now: NOW + 1, expiresAt: done.expiresAt, claimedBy: 'c2' })).toBe(false);
    const failed = newTask();
    await store.createTask(failed);
    await store.claimTask(failed.requestId, { now: NOW, deadline: NOW + 60_000, claimedBy: 'c1' });
    const failure = { kind: 'MAIN_ERROR' as const, message: 'boom' };
    expect(await store.failTask(failed.requestId, failure, NOW, ['RUNNING'], { claimedBy: 'c1' })).toBe(true);
    expect(await store.failTask(failed.requestId, failure, NOW + 1, ['RUNNING'], { claimedBy: 'c1' })).toBe(true);
    expect(await store.failTask(failed.requestId, failure, NOW + 1, ['RUNNING'], { claimedBy: 'c2' })).toBe(false);
  });

  it('hands a key over from a task that ended without Main, but not from a live one', async () => {
    const store = make();
    const keyHash = randomUUID();
    const first = { keyHash, requestId: 'first', fingerprint: 'f', now: NOW, expiresAt: NOW / 1000 + 60 };
    await store.reserveIdempotencyKey(first);
    const second = { ...first, requestId: 'second' };
    expect((await store.reserveIdempotencyKey(second, { replacing: 'someone-else' })).reserved).toBe(false);
    expect(await store.reserveIdempotencyKey(second, { replacing: 'first' })).toEqual({ reserved: true, requestId: 'second', fingerprint: 'f' });
    expect((await store.reserveIdempotencyKey({ ...first, requestId: 'third' })).requestId).toBe('second');
  });

  it('keeps a reservation for its own task when it is written again, and releases it only for that task', async () => {
    const store = make();
    const keyHash = randomUUID();
    const reservation = { keyHash, requestId: 'a', fingerprint: 'f1', now: NOW, expiresAt: NOW / 1000 + 60 };
    expect(await store.reserveIdempotencyKey(reservation)).toEqual({ reserved: true, requestId: 'a', fingerprint: 'f1' });
    expect(await store.reserveIdempotencyKey(reservation)).toEqual({ reserved: true, requestId: 'a', fingerprint: 'f1' });
    await store.releaseIdempotencyKey(keyHash, 'b');
    expect((await store.reserveIdempotencyKey({ ...reservation, requestId: 'b' })).reserved).toBe(false);
    await store.releaseIdempotencyKey(keyHash, 'a');
    expect(await store.reserveIdempotencyKey({ ...reservation, requestId: 'b', fingerprint: 'f2' })).toEqual({ reserved: true, requestId: 'b', fingerprint: 'f2' });
  });

  it('abandons a call whose signal has aborted with StoreUnavailableError', async () => {
    const store = make();
    await expect(store.readStatus(randomUUID(), NOW, { signal: AbortSignal.abort() })).rejects.toThrow(StoreUnavailableError);
    await expect(store.createTask(newTask(), { signal: AbortSignal.abort() })).rejects.toThrow(StoreUnavailableError);
  });
});
