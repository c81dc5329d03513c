/**
 * How each kind of failure reaches the client: one HTTP status per kind.
 *
 * @module
 */
import type { FailureKind } from './task-store';

const STATUS: Record<FailureKind, number> = {
  MAIN_ERROR: 502,
  MAIN_TIMEOUT: 504,
  TALKER_TIMEOUT: 504,
  LOST: 504,
  MALFORMED_RESPONSE: 502,
  RESULT_TOO_LARGE: 502,
  INVOKE_FAILED: 502,
  INVOKE_INTERRUPTED: 502,
  THROTTLED: 503,
};

const SUMMARY: Record<FailureKind, string> = {
  MAIN_ERROR: 'The function behind this API failed.',
  MAIN_TIMEOUT: 'The function behind this API ran past its timeout.',
  TALKER_TIMEOUT: 'The request took longer than the kit allows (the Talker timeout).',
  LOST: 'The request was lost: it had no outcome by its deadline.',
  MALFORMED_RESPONSE: 'The function behind this API returned a response API Gateway cannot use.',
  RESULT_TOO_LARGE: 'The response is too large to store.',
  INVOKE_FAILED: 'The function behind this API could not be invoked.',
  INVOKE_INTERRUPTED: 'The call to the function behind this API broke off without an answer; it may have run.',
  THROTTLED: 'The function behind this API is at its concurrency limit; try again later.',
};

/**
 * The HTTP status that a failure of this kind is answered with.
 *
 * @param kind - the failure kind
 * @returns 502, 503 or 504
 */
export function statusForFailure(kind: FailureKind): number {
  return STATUS[kind];
}

/**
 * A short sentence for the client that never contains Main's own error text.
 *
 * @param kind - the failure kind
 */
export function summaryForFailure(kind: FailureKind): string {
  return SUMMARY[kind];
}
