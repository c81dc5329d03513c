/**
 * Types shared by the Proxy, the Talker and the task store.
 *
 * @module
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway proxy event in either payload format: REST (1.0) or HTTP API (2.0). */
export type ApiGatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** The payload format version of an API Gateway event. */
export type PayloadFormat = '1.0' | '2.0';

/**
 * What the Proxy sends to the Talker with an asynchronous (`Event`) invoke.
 *
 * `event` is the original API Gateway event, unchanged: Main receives exactly it.
 */
export interface TalkerPayload {
  /** The task's RequestID (a random UUID). */
  requestId: string;
  /** The original API Gateway event. */
  event: ApiGatewayEvent;
}

/**
 * The life of a task.
 *
 * - `PENDING`: written by the Proxy; the Talker has not claimed it yet.
 * - `RUNNING`: claimed by a Talker, which is waiting for Main.
 * - `CREATED`: Main answered; the response is stored.
 * - `FAILED`: Main failed, timed out, answered something unusable, or could not be called.
 */
export type TaskStatus = 'PENDING' | 'RUNNING' | 'CREATED' | 'FAILED';

/**
 * Why a task failed. Each kind maps to one HTTP status (see {@link statusForFailure}).
 *
 * - `MAIN_ERROR`: Main threw or returned a function error (502).
 * - `MAIN_TIMEOUT`: Main ran past its own timeout (504).
 * - `TALKER_TIMEOUT`: the Talker's own time ran out while Main was still running (504).
 * - `LOST`: the task's deadline passed with no outcome: the Talker died or never ran (504).
 * - `MALFORMED_RESPONSE`: Main's answer is not a valid API Gateway proxy response (502).
 * - `RESULT_TOO_LARGE`: Main's answer does not fit in a task row even compressed (502).
 * - `INVOKE_FAILED`: the Talker could not invoke Main (not found, denied, bad request) (502).
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
 * The small part of a task row that a poll reads (a projection: never the result).
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
}

/** A stored result: Main's raw response payload (JSON text), possibly compressed. */
export interface StoredResult {
  /** The bytes as stored. */
  body: Uint8Array;
  /** `identity` for the JSON text itself, `gzip` for gzip-compressed JSON text. */
  encoding: 'identity' | 'gzip';
}
