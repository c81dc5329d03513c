/**
 * DynamoDB's errors as the local stack answers them itself (for the
 * time-to-live calls, a stopped endpoint and oversized bodies), in
 * DynamoDB's JSON-1.0 shape: `{"__type", "message"}` (`{"__type", "Message"}` for
 * AccessDeniedException). Every other error comes from dynalite as it is.
 */
import type { ServerResponse } from 'node:http';
import { send } from '../http';

/** The content type of every DynamoDB answer. */
export const DYNAMODB_CONTENT_TYPE = 'application/x-amz-json-1.0';

/** The errors the stack answers itself, with their status and `__type`. */
export const DYNAMODB_ERRORS = {
  /** A field is missing or out of its bounds. */
  VALIDATION: { status: 400, type: 'com.amazon.coral.validate#ValidationException' },
  /** The body is not JSON. */
  SERIALIZATION: { status: 400, type: 'com.amazon.coral.service#SerializationException' },
  /** Test/ops hook: the endpoint is stopped (`unavailable` mode). */
  SERVICE_UNAVAILABLE: { status: 503, type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable' },
  /** The body is over the stack's 16 MB limit: answered with an empty body. */
  REQUEST_TOO_LARGE: { status: 413, type: undefined },
  /**
   * The caller's role does not allow the action on the table. A coral service error, whose body
   * spells `Message` with a capital M (DynamoDB's own errors spell `message`), as AWS answers it:
   * botocore's and the JS SDK's JSON-1.0 parsers read either spelling (botocore `parsers.py`,
   * `BaseJSONParser._do_error_parse`; `@aws-sdk/core`'s `message ?? Message`).
   */
  ACCESS_DENIED: { status: 400, type: 'com.amazon.coral.service#AccessDeniedException', messageKey: 'Message' },
} as const;

/** The name of an error the stack answers itself. */
export type DynamoDbErrorName = keyof typeof DYNAMODB_ERRORS;

/**
 * Sends a JSON-1.0 answer.
 * @param res the response
 * @param status HTTP status
 * @param value the body
 */
export function sendDynamoDbJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { 'Content-Type': DYNAMODB_CONTENT_TYPE }, JSON.stringify(value));
}

/**
 * Sends one of {@link DYNAMODB_ERRORS}.
 * @param res the response
 * @param name which error
 * @param message its message, if it has one
 */
export function sendDynamoDbError(res: ServerResponse, name: DynamoDbErrorName, message?: string): void {
  const error: { status: number; type: string | undefined; messageKey?: string } = DYNAMODB_ERRORS[name];
  const { status, type } = error;
  if (type === undefined) send(res, status, {});
  else sendDynamoDbJson(res, status, { __type: type, ...(message !== undefined && { [error.messageKey ?? 'message']: message }) });
}
