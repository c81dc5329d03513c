/**
 * An in-memory {@link TaskStore}, with the same conditional semantics as the DynamoDB one, for
 * tests, fuzzing and single-process experiments. Not for Lambda: each instance has its own memory.
 *
 * @module
 */
import type { IdempotencyOutcome, IdempotencyReservation, NewTask, ReadOptions, TaskClaim, TaskStore } from './task-store';
import type { StoredResult, TaskFailure, TaskStatusView } from './types';

interface Row {
  view: TaskStatusView;
  result?: StoredResult;
  resultExpiresAt?: number;
}

/** A {@link TaskStore} in a `Map`. */
export class MemoryTaskStore implements TaskStore {
  private readonly rows = new Map<string, Row>();
  private readonly keys = new Map<string, { requestId: string; fingerprint: string; expiresAt: number }>();

  /** How many rows (tasks) it holds, expired or not. */
  get size(): number {
    return this.rows.size;
  }

  /** {@inheritDoc TaskStore.createTask} */
  async createTask(task: NewTask): Promise<void> {
    if (this.rows.has(task.requestId)) throw new Error(`task ${task.requestId} exists`);
    const view: TaskStatusView = {
      requestId: task.requestId,
      status: 'PENDING',
      createdAt: task.createdAt,
      pendingDeadline: task.pendingDeadline,
      expiresAt: task.expiresAt,
    };
    if (task.requestFingerprint !== undefined) view.requestFingerprint = task.requestFingerprint;
    this.rows.set(task.requestId, { view });
  }

  /** {@inheritDoc TaskStore.readStatus} */
  async readStatus(requestId: string, now: number, options: ReadOptions = {}): Promise<TaskStatusView | undefined> {
    options.signal?.throwIfAborted();
    const row = this.rows.get(requestId);
    if (!row || row.view.expiresAt * 1000 <= now) return undefined;
    return { ...row.view, ...(row.view.failure && { failure: { ...row.view.failure } }) };
  }

  /** {@inheritDoc TaskStore.claimTask} */
  async claimTask(requestId: string, claim: { now: number; deadline: number; claimedBy: string }): Promise<TaskClaim | undefined> {
    const row = this.rows.get(requestId);
    if (!row || row.view.status !== 'PENDING' || row.view.pendingDeadline <= claim.now || row.view.expiresAt <= Math.floor(claim.now / 1000)) {
      return undefined;
    }
    row.view.status = 'RUNNING';
    row.view.deadline = claim.deadline;
    return { expiresAt: row.view.expiresAt };
  }

  /** {@inheritDoc TaskStore.completeTask} */
  async completeTask(requestId: string, result: StoredResult, at: { now: number; expiresAt: number }): Promise<boolean> {
    const row = this.rows.get(requestId);
    if (!row || row.view.status !== 'RUNNING') return false;
    row.view.status = 'CREATED';
    row.result = result;
    row.resultExpiresAt = at.expiresAt;
    return true;
  }

  /** {@inheritDoc TaskStore.failTask} */
  async failTask(requestId: string, failure: TaskFailure, now: number, from: ReadonlyArray<'PENDING' | 'RUNNING'>): Promise<boolean> {
    const row = this.rows.get(requestId);
    if (!row || !(from as readonly string[]).includes(row.view.status)) return false;
    if (failure.kind === 'LOST') {
      const pendingLost = row.view.status === 'PENDING' && row.view.pendingDeadline <= now;
      const runningLost = row.view.status === 'RUNNING' && row.view.deadline !== undefined && row.view.deadline <= now;
      if (!pendingLost && !runningLost) return false;
    }
    row.view.status = 'FAILED';
    row.view.failure = { ...failure };
    return true;
  }

  /** {@inheritDoc TaskStore.readResult} */
  async readResult(requestId: string): Promise<StoredResult | undefined> {
    return this.rows.get(requestId)?.result;
  }

  /** {@inheritDoc TaskStore.retireTask} */
  async retireTask(requestId: string, retire: { now: number; graceSeconds: number }): Promise<void> {
    const row = this.rows.get(requestId);
    if (!row) return;
    if (retire.graceSeconds <= 0) {
      this.rows.delete(requestId);
      return;
    }
    row.view.expiresAt = Math.min(row.view.expiresAt, Math.floor(retire.now / 1000) + retire.graceSeconds);
  }

  /** {@inheritDoc TaskStore.reserveIdempotencyKey} */
  async reserveIdempotencyKey(reservation: IdempotencyReservation): Promise<IdempotencyOutcome> {
    const existing = this.keys.get(reservation.keyHash);
    if (existing && existing.expiresAt > Math.floor(reservation.now / 1000)) {
      return { reserved: false, requestId: existing.requestId, fingerprint: existing.fingerprint };
    }
    this.keys.set(reservation.keyHash, { requestId: reservation.requestId, fingerprint: reservation.fingerprint, expiresAt: reservation.expiresAt });
    return { reserved: true, requestId: reservation.requestId, fingerprint: reservation.fingerprint };
  }
}
