/**
 * Storage of tasks, behind an interface: the Proxy and the Talker only see {@link TaskStore};
 * {@link DynamoTaskStore} is the DynamoDB implementation.
 *
 * @module
 */

/**
 * The life of a task.
 *
 * - `PENDING`: written by the Proxy; the Talker has not claimed it yet.
 * - `RUNNING`: claimed by a Talker, which is waiting for Main.
 * - `CREATED`: Main answered; the response is stored.
 * - `FAILED`: Main failed, timed out, answered something unusable, or could not be called.
 * - `ABANDONED`: withdrawn by the Proxy before any Talker claimed it (its Talker could not be
 *   started): nothing ran, and nothing will. The row stays until it expires, so that a retry
 *   with its `Idempotency-Key` can tell it from a delivered task.
 */
export type TaskStatus = 'PENDING' | 'RUNNING' | 'CREATED' | 'FAILED' | 'ABANDONED';

/**
 * Why a task failed. Each kind maps to one HTTP status (see {@link statusForFailure}).
 *
 * - `MAIN_ERROR`: Main threw or returned a function error (502).
 * - `MAIN_TIMEOUT`: Main ran past its own timeout (504).
 * - `TALKER_TIMEOUT`: the Talker's own time ran out while Main was still running (504).
 * - `LOST`: the task's deadline passed with no outcome: the Talker died or never ran (504).
 * - `MALFORMED_RESPONSE`: Main's answer is not a valid API Gateway proxy response (502).
 * - `RESULT_TOO_LARGE`: Main's answer does not fit in a task row even compressed (502).
 * - `INVOKE_FAILED`: Lambda refused to invoke Main (not found, denied, bad request, too large):
 *   Main did not run (502).
 * - `INVOKE_INTERRUPTED`: the call to Main broke off without an answer (Lambda's 5xx, a lost
 *   connection): Main may have run (502).
 * - `THROTTLED`: Lambda kept refusing to run Main for lack of capacity (503).
 */
export type FailureKind =
  | 'MAIN_ERROR'
  | 'MAIN_TIMEOUT'
  | 'TALKER_TIMEOUT'
  | 'LOST'
  | 'MALFORMED_RESPONSE'
  | 'RESULT_TOO_LARGE'
  | 'INVOKE_FAILED'
  | 'INVOKE_INTERRUPTED'
  | 'THROTTLED';

/** A failure recorded on a task. */
export interface TaskFailure {
  /** What went wrong, as a stable code. */
  kind: FailureKind;
  /** A human-readable explanation; may contain Main's error message. */
  message: string;
  /** Main's `errorType`, when Main reported one. */
  errorType?: string;
}

/**
 * The part of a task row that a poll reads: its status, and the result when it is kept in the
 * row itself (a small one, see {@link CompletionOptions.inline}).
 */
export interface TaskStatusView {
  /** The task's RequestID. */
  requestId: string;
  /** Where the task is in its life. */
  status: TaskStatus;
  /** When the Proxy created the task (epoch milliseconds). */
  createdAt: number;
  /** After this instant (epoch ms) a `PENDING` task that no Talker claimed counts as lost. */
  pendingDeadline: number;
  /** After this instant (epoch ms) a `RUNNING` task counts as lost: its Talker died. */
  deadline?: number;
  /** When a Talker claimed the task (epoch ms): from then on, Main may have run. */
  startedAt?: number;
  /** When DynamoDB TTL may delete the row (epoch seconds); after it, the row counts as absent. */
  expiresAt: number;
  /** Set on `FAILED` tasks. */
  failure?: TaskFailure;
  /**
   * The hashes of the link tokens that may read the task: its creator's, and one per caller that
   * joined it with an `Idempotency-Key`.
   */
  tokenHashes: string[];
  /** The hash of the `Idempotency-Key` reservation that points at the task, if any. */
  idempotencyKeyHash?: string;
  /**
   * Main's response, on a `CREATED` task whose result was kept in its row
   * ({@link CompletionOptions.inline}); a result kept apart is read with
   * {@link TaskStore.readResult}.
   */
  result?: StoredResult;
}

/** A stored result: Main's raw response payload (JSON text), possibly compressed. */
export interface StoredResult {
  /** The bytes as stored. */
  body: Uint8Array;
  /** `identity` for the JSON text itself, `gzip` for gzip-compressed JSON text. */
  encoding: 'identity' | 'gzip';
}

/** Failures of a task whose Main never ran: Lambda refused to run it, or could not. */
const NOT_RUN_FAILURES: ReadonlySet<FailureKind> = new Set(['THROTTLED', 'INVOKE_FAILED']);

/**
 * Whether a task has ended without Main having run: withdrawn, refused by Lambda, or lost
 * before any Talker claimed it. Its `Idempotency-Key` is then free for a new try.
 *
 * @param view - the task's status
 */
export function endedWithoutMain(view: TaskStatusView): boolean {
  if (view.status === 'ABANDONED') return true;
  if (view.status !== 'FAILED' || !view.failure) return false;
  if (NOT_RUN_FAILURES.has(view.failure.kind)) return true;
  return view.failure.kind === 'LOST' && view.startedAt === undefined;
}

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
  /** The hash of the creator's link token ({@link hashLinkToken}). */
  tokenHash: string;
  /** The hash of the `Idempotency-Key` reservation that will point at the task, if any. */
  idempotencyKeyHash?: string;
}

/** What the Proxy records for a request that carries an `Idempotency-Key`. */
export interface IdempotencyReservation {
  /** A hash of the key within its caller's scope (the key itself is never stored). */
  keyHash: string;
  /** The task that the key's first request started. */
  requestId: string;
  /** A hash of the request (method, path, query, body). */
  fingerprint: string;
  /** Now, epoch ms. */
  now: number;
  /** When the reservation lapses (epoch seconds): the task's own expiry. */
  expiresAt: number;
}

/** The answer of {@link TaskStore.reserveIdempotencyKey}. */
export interface IdempotencyOutcome {
  /** `true` when this request holds the key (it is the key's first); `false` when another task holds it. */
  reserved: boolean;
  /** The task the key belongs to: this request's, or the earlier one's. */
  requestId: string;
  /** The fingerprint of the request that took the key. */
  fingerprint: string;
}

/** How {@link TaskStore.completeTask} records a completion. */
export interface CompletionOptions {
  /** Now, epoch ms. */
  now: number;
  /** The task's expiry (epoch seconds, from its claim): a result kept apart expires with it. */
  expiresAt: number;
  /** The claim that holds the task. */
  claimedBy: string;
  /**
   * Keep the result in the task's own row, written with its status in one write: for a small
   * result (the Talker's `INLINE_RESULT_MAX_BYTES`). The status read that finds the task
   * `CREATED` then carries it ({@link TaskStatusView.result}), and retiring it is one write.
   * Otherwise the result is written apart first (a poll's read stays small whatever its size),
   * then the status.
   */
  inline?: boolean;
}

/** What {@link TaskStore.retireTask} is told. */
export interface RetireOptions {
  /** Now, epoch ms. */
  now: number;
  /** 0 deletes the task; otherwise its life is shortened to this many seconds. */
  graceSeconds: number;
  /** Main's response was delivered: its stored result goes with the task. */
  delivered: boolean;
  /**
   * With `delivered`: the result was kept in the task's row (its status view carried it, or the
   * Talker said so), so there is no result apart to retire. A result apart is retired otherwise.
   */
  resultInline?: boolean;
}

/** What a successful claim returns. */
export interface TaskClaim {
  /** The task row's expiry (epoch seconds); the stored result expires with it. */
  expiresAt: number;
}

/**
 * What {@link TaskStore.abandonTask} found: `abandoned` when the task was still `PENDING` and is
 * now `ABANDONED`, so that no Talker will run it; `started` otherwise: a Talker claimed it first,
 * it has an outcome, or it is gone (delivered and retired): Main may have run.
 */
export type AbandonOutcome = 'abandoned' | 'started';

/**
 * Options of every store call. A call that the signal aborts rejects at once (with the signal's
 * reason, or a {@link StoreUnavailableError}) and no answer is awaited any longer: whether the
 * database applied a write that was under way is then unknown.
 */
export interface CallOptions {
  /** Abandons the call when it aborts. */
  signal?: AbortSignal;
  /**
   * The longest one attempt may take before it is given up and tried again (for the DynamoDB
   * store: the SDK's `requestTimeout` of this call). The client's own setting when absent.
   */
  attemptTimeoutMs?: number;
}

/**
 * Thrown by a store when the database refuses or cannot be reached (throttling, 5xx,
 * network, a timeout or an abort). The Proxy answers 503 with `Retry-After`, or with the
 * continuation; nothing is lost.
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

/**
 * The task table as the Proxy and the Talker use it.
 *
 * Every state change is conditional, so that two writers never both win: a duplicate Talker
 * cannot claim a task twice, and a late Talker cannot overwrite a task that the Proxy declared
 * lost. And every conditional write recognises its own earlier success: when the SDK retries a
 * write whose answer was lost after the database applied it, the retry's failed condition is
 * checked against what the first attempt wrote (a marker unique to the call), so a claim, a
 * completion or a reservation is never misread as someone else's.
 */
export interface TaskStore {
  /** Writes a new `PENDING` task. Succeeds when this very task is already there (a retried write). */
  createTask(task: NewTask, options?: CallOptions): Promise<void>;
  /**
   * Reads a task's status (a small projection, never the result) with a strongly consistent
   * read. An expired row is reported as absent.
   *
   * @returns the status, or `undefined` when there is no live task with that RequestID
   */
  readStatus(requestId: string, now: number, options?: CallOptions): Promise<TaskStatusView | undefined>;
  /**
   * Moves a task from `PENDING` to `RUNNING`, if it is still `PENDING`, unclaimed and in time.
   *
   * @param claim - `claimedBy` must be unique to this claim (not only to the Lambda request: a
   *   duplicate delivery of one event may share its request id)
   * @returns the claimed task's expiry if this caller claimed it; `undefined` if someone else
   *   did, or it is gone or too late
   */
  claimTask(requestId: string, claim: { now: number; deadline: number; claimedBy: string }, options?: CallOptions): Promise<TaskClaim | undefined>;
  /**
   * Stores Main's response and moves the task from `RUNNING` to `CREATED`, only if this claim
   * (`claimedBy`) still holds it: in the task's row with its status (`inline`), or apart first.
   * The stored response is never deleted by the kit before it is delivered: when the status
   * write is refused, an inline result is stored apart instead, and it expires with the task.
   * Calling it again for the same claim (a retry) is recognised as the same completion.
   *
   * @returns `false` if the task was no longer this claim's `RUNNING` task (e.g. declared lost)
   */
  completeTask(requestId: string, result: StoredResult, at: CompletionOptions, options?: CallOptions): Promise<boolean>;
  /**
   * Moves a task to `FAILED`, only from one of `from` (and, for a lost task, only once its
   * deadline has passed, so a Talker that is alive cannot be overruled). With `claimedBy`, only
   * if that claim holds the task, and a repeat for the same claim is recognised as the same record.
   *
   * @returns `false` if the task was not in one of those states
   */
  failTask(requestId: string, failure: TaskFailure, now: number, from: ReadonlyArray<'PENDING' | 'RUNNING'>, options?: CallOptions & { claimedBy?: string }): Promise<boolean>;
  /**
   * Reads a result stored apart from its task's row: the result of a `CREATED` task whose status
   * view did not carry it, or one that a Talker stored before it stopped. A result kept in the
   * row comes with {@link readStatus} instead.
   */
  readResult(requestId: string, options?: CallOptions): Promise<StoredResult | undefined>;
  /**
   * Retires a task whose answer was given: deletes it when `graceSeconds` is 0, otherwise
   * shortens its life to `graceSeconds` so that a repeated GET of the same URL still gets the
   * answer. With `delivered`, its stored result goes with it; without (a failure was answered),
   * a result that a late Talker may have stored apart is left to expire, never deleted.
   */
  retireTask(requestId: string, retire: RetireOptions, options?: CallOptions): Promise<void>;
  /**
   * Withdraws a task that no Talker has claimed (its Talker could not be started): it becomes
   * `ABANDONED`, so that none will run it later.
   */
  abandonTask(requestId: string, now: number, options?: CallOptions): Promise<AbandonOutcome>;
  /**
   * Lets one more link token read a task (a caller joining it with its `Idempotency-Key`).
   *
   * @returns `false` when the task is gone or expired
   */
  addTaskToken(requestId: string, tokenHash: string, now: number, options?: CallOptions): Promise<boolean>;
  /**
   * Takes an `Idempotency-Key` for a task, unless a live reservation of another task holds it
   * already, in which case that reservation is returned. With `replacing`, takes it over from
   * that task only (one that ended without running Main), if the key still points at it.
   */
  reserveIdempotencyKey(reservation: IdempotencyReservation, options?: CallOptions & { replacing?: string }): Promise<IdempotencyOutcome>;
  /** Gives up a key reserved for a task that never ran Main, if it still points at that task. */
  releaseIdempotencyKey(keyHash: string, requestId: string, options?: CallOptions): Promise<void>;
}
