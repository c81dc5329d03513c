/**
 * Storage of tasks, behind an interface: the Proxy and the Talker only see {@link TaskStore};
 * {@link DynamoTaskStore} is the DynamoDB implementation.
 *
 * @module
 */
import type { StoredResult, TaskFailure, TaskStatusView } from './types';

/** What the Proxy writes for a new task. */
export interface NewTask {
  /** The new RequestID. */
  requestId: string;
  /** Now, in epoch ms. */
  createdAt: number;
  /** Epoch ms after which an unclaimed task counts as lost. */
  pendingDeadline: number;
  /** Epoch seconds after which the row counts as absent (and DynamoDB TTL may delete it). */
  expiresAt: number;
  /** A hash of the request, for `Idempotency-Key` checks. */
  requestFingerprint?: string;
}

/** What the Proxy records for a request that carries an `Idempotency-Key`. */
export interface IdempotencyReservation {
  /** A hash of the key (the key itself is never stored). */
  keyHash: string;
  /** The task that the key's first request started. */
  requestId: string;
  /** A hash of the request (method, path, query, body, credentials). */
  fingerprint: string;
  /** Now, epoch ms. */
  now: number;
  /** When the reservation lapses (epoch seconds): the task's own expiry. */
  expiresAt: number;
}

/** The answer of {@link TaskStore.reserveIdempotencyKey}. */
export interface IdempotencyOutcome {
  /** `true` when this request is the key's first; `false` when the key was taken. */
  reserved: boolean;
  /** The task the key belongs to: this request's, or the earlier one's. */
  requestId: string;
  /** The fingerprint of the request that took the key. */
  fingerprint: string;
}

/** What a successful claim returns. */
export interface TaskClaim {
  /** The task row's expiry (epoch seconds); the stored result expires with it. */
  expiresAt: number;
}

/**
 * Thrown by a store when the database refuses or cannot be reached (throttling, 5xx,
 * network). The Proxy answers 503 with `Retry-After`; nothing is lost.
 */
export class StoreUnavailableError extends Error {
  /**
   * @param message - what failed
   * @param options - the underlying error as `cause`
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Options of {@link TaskStore.readStatus}. */
export interface ReadOptions {
  /** Abandons the read when it aborts: the call rejects, and no answer is awaited any longer. */
  signal?: AbortSignal;
}

/**
 * The task table as the Proxy and the Talker use it. Every state change is conditional, so
 * that two writers never both win: a duplicate Talker cannot claim a task twice, and a late
 * Talker cannot overwrite a task that the Proxy declared lost.
 */
export interface TaskStore {
  /** Writes a new `PENDING` task. Fails if the RequestID exists. */
  createTask(task: NewTask): Promise<void>;
  /**
   * Reads a task's status (a small projection, never the result) with a strongly consistent
   * read. An expired row is reported as absent.
   *
   * @param options - a signal that abandons the read when it aborts (the call then rejects)
   * @returns the status, or `undefined` when there is no live task with that RequestID
   */
  readStatus(requestId: string, now: number, options?: ReadOptions): Promise<TaskStatusView | undefined>;
  /**
   * Moves a task from `PENDING` to `RUNNING`, if it is still `PENDING`, unclaimed and in time.
   *
   * @returns the claimed task's expiry if this caller claimed it; `undefined` if someone else
   *   did, or it is gone or too late
   */
  claimTask(requestId: string, claim: { now: number; deadline: number; claimedBy: string }): Promise<TaskClaim | undefined>;
  /**
   * Stores Main's response and moves the task from `RUNNING` to `CREATED`.
   *
   * @returns `false` if the task was no longer `RUNNING` (e.g. declared lost meanwhile)
   */
  completeTask(requestId: string, result: StoredResult, at: { now: number; expiresAt: number }): Promise<boolean>;
  /**
   * Moves a task to `FAILED`, only from one of `from` (and, for a lost task, only once its
   * deadline has passed, so a Talker that is alive cannot be overruled).
   *
   * @returns `false` if the task was not in one of those states
   */
  failTask(requestId: string, failure: TaskFailure, now: number, from: ReadonlyArray<'PENDING' | 'RUNNING'>): Promise<boolean>;
  /** Reads a stored result, once, when the task is `CREATED`. */
  readResult(requestId: string): Promise<StoredResult | undefined>;
  /**
   * Retires a delivered task: deletes it when `graceSeconds` is 0, otherwise shortens its life
   * to `graceSeconds` so that a repeated GET of the same URL still gets the answer.
   */
  retireTask(requestId: string, retire: { now: number; graceSeconds: number }): Promise<void>;
  /**
   * Takes an `Idempotency-Key` for a task, unless a live reservation holds it already, in which
   * case that reservation is returned.
   */
  reserveIdempotencyKey(reservation: IdempotencyReservation): Promise<IdempotencyOutcome>;
}
