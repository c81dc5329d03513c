/**
 * AWS-shaped errors shared by every service of the local stack.
 *
 * Each service renders an {@link AwsError} in its own wire format (REST-JSON
 * with `x-amzn-ErrorType` for Lambda and API Gateway, JSON-1.0 `__type` for
 * DynamoDB, XML for the query protocol of IAM and STS).
 */

/** An error that a service answers with a given status and error code. */
export class AwsError extends Error {
  /** HTTP status code of the answer. */
  readonly status: number;
  /** AWS error code, e.g. `ResourceNotFoundException`. */
  readonly code: string;
  /** Extra fields for the JSON body (e.g. Lambda's `Reason`). */
  readonly extra: Record<string, unknown>;

  /**
   * @param status HTTP status code
   * @param code AWS error code
   * @param message human-readable message
   * @param extra extra JSON body fields
   */
  constructor(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = code;
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/** Thrown when a request body exceeds what the reading side accepts. */
export class BodyTooLargeError extends Error {
  /** Bytes seen before giving up (at least the limit + 1). */
  readonly seen: number;
  /** @param seen bytes seen */
  constructor(seen: number) {
    super(`request body too large (${seen} bytes)`);
    this.seen = seen;
  }
}

/**
 * The message of anything thrown.
 * @param err the thrown value
 */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
