/**
 * Lambda's errors, in its words, and how Lambda puts them on the wire
 * (REST-JSON: `x-amzn-ErrorType` and a JSON body with `Type` and `message`).
 */
import type { ServerResponse } from 'node:http';
import { AwsError } from '../errors';
import { newRequestId, sendJson } from '../http';

/** ResourceNotFoundException for a function. */
export function functionNotFound(arn: string): AwsError {
  return new AwsError(404, 'ResourceNotFoundException', `Function not found: ${arn}`, { Type: 'User' });
}

/** ResourceNotFoundException for something of a function (a policy statement, an event invoke config). */
export function resourceNotFound(message: string): AwsError {
  return new AwsError(404, 'ResourceNotFoundException', message, { Type: 'User' });
}

/** ResourceConflictException (the function or statement exists already). */
export function resourceConflict(message: string): AwsError {
  return new AwsError(409, 'ResourceConflictException', message, { Type: 'User' });
}

/** InvalidParameterValueException. */
export function invalidParameter(message: string): AwsError {
  return new AwsError(400, 'InvalidParameterValueException', message, { Type: 'User' });
}

/** A validation error of one field, in Lambda's wording. */
export function validationError(value: unknown, field: string, constraint: string): AwsError {
  return new AwsError(400, 'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`);
}

/** The validation error of a required field that is missing. */
export function missingField(field: string): AwsError {
  return new AwsError(400, 'ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
}

/** RequestEntityTooLargeException: the request is larger than the operation accepts. */
export function requestTooLarge(limit: number, operation: string): AwsError {
  return new AwsError(413, 'RequestEntityTooLargeException', `Request must be smaller than ${limit} bytes for the ${operation} operation`, { Type: 'User' });
}

/** InvalidRequestContentException: the body is not what the operation reads. */
export function invalidRequestContent(message: string): AwsError {
  return new AwsError(400, 'InvalidRequestContentException', message, { Type: 'User' });
}

/** PreconditionFailedException: the RevisionId given is not the function's. */
export function revisionMismatch(): AwsError {
  return new AwsError(412, 'PreconditionFailedException',
    'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id', { Type: 'User' });
}

/** TooManyRequestsException (throttling), with its reason. */
export function tooManyRequests(reason: string): AwsError {
  return new AwsError(429, 'TooManyRequestsException', 'Rate Exceeded.', { Type: 'User', Reason: reason });
}

/** ServiceException while the stack shuts down. */
export function stackStopping(): AwsError {
  return new AwsError(503, 'ServiceException', 'The local stack is stopping');
}

/** ServiceException for a fault of the stack itself. */
export function internalError(): AwsError {
  return new AwsError(500, 'ServiceException', 'An internal error occurred in the local stack.');
}

/** UnknownOperationException: no Lambda operation has this method and path. */
export function unknownOperation(method: string, path: string): AwsError {
  return new AwsError(404, 'UnknownOperationException', `Unknown operation ${method} ${path}`);
}

/**
 * Sends a Lambda-shaped error: `x-amzn-ErrorType` header and a JSON body.
 * @param res the response
 * @param err the error
 */
export function sendLambdaError(res: ServerResponse, err: AwsError): void {
  const capital = err.code === 'ResourceNotFoundException' || err.code === 'ServiceException';
  const body: Record<string, unknown> = { Type: 'User', ...err.extra, ...(capital ? { Message: err.message } : { message: err.message }) };
  const headers: Record<string, string> = { 'x-amzn-ErrorType': err.code, 'x-amzn-RequestId': newRequestId() };
  if (err.status === 429) headers['Retry-After'] = '1';
  sendJson(res, err.status, body, headers);
}
