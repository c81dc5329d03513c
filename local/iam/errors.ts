/**
 * IAM's and STS's errors, in their words, and how the query protocol puts
 * them on the wire (an XML `ErrorResponse` with `Type`, `Code`, `Message`).
 */
import type { ServerResponse } from 'node:http';
import { AwsError } from '../errors';
import { newRequestId, send } from '../http';

/** The validation error of a required parameter that is missing. */
export function missingParameter(field: string): AwsError {
  return new AwsError(400, 'ValidationError', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
}

/** A validation error of a value that does not match its pattern. */
export function invalidValue(value: string, field: string, pattern: string): AwsError {
  return new AwsError(400, 'ValidationError', `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern}`);
}

/** MalformedPolicyDocument: a policy that is not a JSON object. */
export function malformedPolicy(): AwsError {
  return new AwsError(400, 'MalformedPolicyDocument', 'This policy contains invalid Json');
}

/** NoSuchEntity. */
export function noSuchEntity(message: string): AwsError {
  return new AwsError(404, 'NoSuchEntity', message);
}

/** EntityAlreadyExists. */
export function entityAlreadyExists(message: string): AwsError {
  return new AwsError(409, 'EntityAlreadyExists', message);
}

/** DeleteConflict: the entity still has what must go first. */
export function deleteConflict(message: string): AwsError {
  return new AwsError(409, 'DeleteConflict', message);
}

/** InvalidInput. */
export function invalidInput(message: string): AwsError {
  return new AwsError(400, 'InvalidInput', message);
}

/** MissingAction: the request names no action. */
export function missingAction(): AwsError {
  return new AwsError(400, 'MissingAction', 'Missing Action');
}

/** InvalidAction: the service has no such action in this API version. */
export function invalidAction(action: string, version: string): AwsError {
  return new AwsError(400, 'InvalidAction', `Could not find operation ${action} for version ${version}`);
}

/** RequestEntityTooLarge: the body is over 1 MB. */
export function requestTooLarge(): AwsError {
  return new AwsError(413, 'RequestEntityTooLarge', 'Request too large');
}

/** ServiceFailure for a fault of the stack itself. */
export function serviceFailure(): AwsError {
  return new AwsError(500, 'ServiceFailure', 'An internal error occurred in the local stack.');
}

/** XML text escaping. */
export function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * Sends a query-protocol error.
 * @param res the response
 * @param err the error
 * @param namespace the service's XML namespace
 */
export function sendQueryError(res: ServerResponse, err: AwsError, namespace: string): void {
  const requestId = newRequestId();
  send(res, err.status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId },
    `<ErrorResponse xmlns="${namespace}"><Error><Type>${err.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
}
