/**
 * An in-memory {@link TaskStore}, with the same conditional semantics as the DynamoDB one, for
 * tests, fuzzing and single-process experiments. Not for Lambda: each instance has its own memory.
 *
 * @module
 */
import {
  StoreUnavailableError,
  type AbandonOutcome,
  type CallOptions,
  type CompletionOptions,
  type IdempotencyOutcome,
  type IdempotencyReservation,
  type NewTask,
  type RetireOptions,
  type StoredResult,
  type TaskClaim,
  type TaskFailure,
  type TaskStatusView,
  type TaskStore,
} from './task-store';

interface Row {
  view: TaskStatusView;
  claimedBy?: string;
  /** The marker of the last completion or failure record (the DynamoDB store's WriteMarker). */
  marker?: string;
}

function copy(view: TaskStatusView): TaskStatusView {
  return { ...view, tokenHashes: [...view.tokenHashes], ...(view.failure && { failure: { ...view.failure } }) };
}

/** Like the DynamoDB store: a call whose signal has aborted is abandoned as unavailable. */
function aborted(options: CallOptions): void {
  if (options.signal?.aborted) throw new StoreUnavailableError('the call was abandoned (its signal aborted)', { cause: options.signal.reason });
}

/** A {@link TaskStore} in a `Map`. */
export class MemoryTaskStore implements TaskStore {
  private readonly rows = new Map<string, Row>();
  /** Results kept apart from the rows, as DynamoDB keeps them in an item of their own. */
  private readonly results = new Map<string, StoredResult>();
  private readonly keys = new Map<string, { requestId: string; fingerprint: string; expiresAt: number }>();

  /** How many rows (tasks) it holds, expired or not. */
  get size(): number {
    return this.rows.size;
  }

  /** {@inheritDoc TaskStore.createTask} */
  async createTask(task: NewTask, options: CallOptions = {}): Promise<void> {
    aborted(options);
    const existing = this.rows.get(task.requestId);
    if (existing) {
      if (existing.view.tokenHashes.includes(task.tokenHash)) return;
      throw new Error(`A task with RequestID ${task.requestId} exists already`);
    }
    const view: TaskStatusView = {
      requestId: task.requestId,
      status: 'PENDING',
      createdAt: task.createdAt,
      pendingDeadline: task.pendingDeadline,
      expiresAt: task.expiresAt,
      tokenHashes: [task.tokenHash],
    };
    if (task.idempotencyKeyHash !== undefined) view.idempotencyKeyHash = task.idempotencyKeyHash;
    this.rows.set(task.requestId, { view });
  }

  /** {@inheritDoc TaskStore.readStatus} */
  async readStatus(requestId: string, now: number, options: CallOptions = {}): Promise<TaskStatusView | undefined> {
    aborted(options);
    const row = this.rows.get(requestId);
    if (!row || row.view.expiresAt * 1000 <= now) return undefined;
    return copy(row.view);
  }

  /** {@inheritDoc TaskStore.claimTask} */
  async claimTask(requestId: string, claim: { now: number; deadline: number; claimedBy: string }, options: CallOptions = {}): Promise<TaskClaim | undefined> {
    aborted(options);
    const row = this.rows.get(requestId);
    if (!row || row.view.status !== 'PENDING' || row.view.pendingDeadline <= claim.now || row.view.expiresAt <= Math.floor(claim.now / 1000)) {
      return row && row.view.status === 'RUNNING' && row.claimedBy === claim.claimedBy ? { expiresAt: row.view.expiresAt } : undefined;
    }
    row.view.status = 'RUNNING';
    row.view.deadline = claim.deadline;
    row.view.startedAt = claim.now;
    row.claimedBy = claim.claimedBy;
    return { expiresAt: row.view.expiresAt };
  }

  /** {@inheritDoc TaskStore.completeTask} */
  async completeTask(requestId: string, result: StoredResult, at: CompletionOptions, options: CallOptions = {}): Promise<boolean> {
    aborted(options);
    // A result apart is stored first and whatever happens next, as DynamoDB's separate item is.
    if (!at.inline) this.results.set(requestId, result);
    const row = this.rows.get(requestId);
    const mine = row !== undefined && row.view.status === 'CREATED' && row.marker === at.claimedBy;
    const completes = row !== undefined && row.view.status === 'RUNNING' && row.claimedBy === at.claimedBy;
    if (row && completes) {
      row.view.status = 'CREATED';
      row.marker = at.claimedBy;
      if (at.inline) row.view.result = result;
    }
    // Refused: an inline result is kept all the same, apart, unless its row is gone.
    if (!mine && !completes && at.inline && row) this.results.set(requestId, result);
    return mine || completes;
  }

  /** {@inheritDoc TaskStore.failTask} */
  async failTask(requestId: string, failure: TaskFailure, now: number, from: ReadonlyArray<'PENDING' | 'RUNNING'>, options: CallOptions & { claimedBy?: string } = {}): Promise<boolean> {
    aborted(options);
    const row = this.rows.get(requestId);
    if (!row) return false;
    // The same record again, for the same claim: its own earlier success.
    if (options.claimedBy !== undefined && row.view.status === 'FAILED' && row.marker === options.claimedBy) return true;
    if (!(from as readonly string[]).includes(row.view.status)) return false;
    if (options.claimedBy !== undefined && row.claimedBy !== options.claimedBy) return false;
    if (failure.kind === 'LOST') {
      const pendingLost = row.view.status === 'PENDING' && row.view.pendingDeadline <= now;
      const runningLost = row.view.status === 'RUNNING' && row.view.deadline !== undefined && row.view.deadline <= now;
      if (!pendingLost && !runningLost) return false;
    }
    row.view.status = 'FAILED';
    row.view.failure = { ...failure };
    row.marker = options.claimedBy ?? `proxy-${now}`;
    return true;
  }

  /** {@inheritDoc TaskStore.readResult} */
  async readResult(requestId: string, options: CallOptions = {}): Promise<StoredResult | undefined> {
    aborted(options);
    return this.results.get(requestId);
  }

  /** {@inheritDoc TaskStore.retireTask} */
  async retireTask(requestId: string, retire: RetireOptions, options: CallOptions = {}): Promise<void> {
    aborted(options);
    const row = this.rows.get(requestId);
    if (!row) return;
    if (retire.graceSeconds <= 0) {
      this.rows.delete(requestId);
      if (retire.delivered && !retire.resultInline) this.results.delete(requestId);
      return;
    }
    row.view.expiresAt = Math.min(row.view.expiresAt, Math.floor(retire.now / 1000) + retire.graceSeconds);
  }

  /** {@inheritDoc TaskStore.abandonTask} */
  async abandonTask(requestId: string, now: number, options: CallOptions = {}): Promise<AbandonOutcome> {
    aborted(options);
    const row = this.rows.get(requestId);
    if (!row || row.view.status !== 'PENDING') return 'started';
    row.view.status = 'ABANDONED';
    return 'abandoned';
  }

  /** {@inheritDoc TaskStore.addTaskToken} */
  async addTaskToken(requestId: string, tokenHash: string, now: number, options: CallOptions = {}): Promise<boolean> {
    aborted(options);
    const row = this.rows.get(requestId);
    if (!row || row.view.expiresAt <= Math.floor(now / 1000)) return false;
    if (!row.view.tokenHashes.includes(tokenHash)) row.view.tokenHashes.push(tokenHash);
    return true;
  }

  /** {@inheritDoc TaskStore.reserveIdempotencyKey} */
  async reserveIdempotencyKey(reservation: IdempotencyReservation, options: CallOptions & { replacing?: string } = {}): Promise<IdempotencyOutcome> {
    aborted(options);
    const existing = this.keys.get(reservation.keyHash);
    const live = existing !== undefined && existing.expiresAt > Math.floor(reservation.now / 1000);
    const blocked = live && existing.requestId !== reservation.requestId && existing.requestId !== options.replacing;
    if (existing && blocked) return { reserved: false, requestId: existing.requestId, fingerprint: existing.fingerprint };
    this.keys.set(reservation.keyHash, { requestId: reservation.requestId, fingerprint: reservation.fingerprint, expiresAt: reservation.expiresAt });
    return { reserved: true, requestId: reservation.requestId, fingerprint: reservation.fingerprint };
  }

  /** {@inheritDoc TaskStore.releaseIdempotencyKey} */
  async releaseIdempotencyKey(keyHash: string, requestId: string, options: CallOptions = {}): Promise<void> {
    aborted(options);
    if (this.keys.get(keyHash)?.requestId === requestId) this.keys.delete(keyHash);
  }
}
