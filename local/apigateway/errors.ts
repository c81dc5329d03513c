/**
 * API Gateway's errors, in its words: those of the control plane (REST-JSON,
 * `x-amzn-ErrorType` and `{"message"}`) and the gateway responses an invoke
 * URL answers with when the request does not reach the integration, or its
 * answer does not come back.
 */
import type { ServerResponse } from 'node:http';
import { AwsError } from '../errors';
import { newRequestId, send, sendJson } from '../http';

/** NotFoundException. */
export function notFound(message: string): AwsError {
  return new AwsError(404, 'NotFoundException', message);
}

/** BadRequestException. */
export function badRequest(message: string): AwsError {
  return new AwsError(400, 'BadRequestException', message);
}

/** ConflictException. */
export function conflict(message: string): AwsError {
  return new AwsError(409, 'ConflictException', message);
}

/** LimitExceededException for a request body over the limit. */
export function requestTooLarge(): AwsError {
  return new AwsError(413, 'LimitExceededException', 'Request too large');
}

/** NotFoundException: no control-plane operation has this method and path. */
export function unknownOperation(method: string, path: string): AwsError {
  return notFound(`Unknown operation ${method} ${path}`);
}

/**
 * Sends a control-plane error: `x-amzn-ErrorType` and `{"message"}`.
 * @param res the response
 * @param err the error
 */
export function sendApiGatewayError(res: ServerResponse, err: AwsError): void {
  sendJson(res, err.status, { message: err.message }, { 'x-amzn-ErrorType': err.code, 'x-amzn-RequestId': newRequestId() });
}

/**
 * The gateway responses of an invoke URL, named after API Gateway's response types, with their
 * status, message and `x-amzn-ErrorType` as a REST API answers them by default.
 */
export const GATEWAY_RESPONSES = {
  /** The body is over API Gateway's 10 MB payload limit. */
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Too Long', errorType: 'RequestEntityTooLargeException' },
  /** No API, stage or deployment of that name. */
  DEFAULT_4XX: { status: 403, message: 'Forbidden', errorType: 'ForbiddenException' },
  /** No resource and method match the path. */
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token', errorType: 'MissingAuthenticationTokenException' },
  /** The method requires an API key and the request's is missing, unknown or not in a usage plan of the stage. */
  INVALID_API_KEY: { status: 403, message: 'Forbidden', errorType: 'ForbiddenException' },
  /** The integration cannot be called: not a Lambda proxy, or the function is missing or refused the call. */
  API_CONFIGURATION_ERROR: { status: 500, message: 'Internal server error', errorType: 'InternalServerErrorException' },
  /** The integration did not answer within its timeout (29 s by default). */
  INTEGRATION_TIMEOUT: { status: 504, message: 'Endpoint request timed out', errorType: undefined },
  /** The function failed, or its answer is not a valid proxy response. */
  DEFAULT_5XX: { status: 502, message: 'Internal server error', errorType: 'InternalServerErrorException' },
} as const;

/** The name of a gateway response. */
export type GatewayResponseType = keyof typeof GATEWAY_RESPONSES;

/**
 * Sends a gateway response.
 * @param res the response
 * @param type which one
 * @param headers the request's id headers
 * @returns its status, for the access log
 */
export function sendGatewayResponse(res: ServerResponse, type: GatewayResponseType, headers: Record<string, string>): number {
  const { status, message, errorType } = GATEWAY_RESPONSES[type];
  send(res, status, { 'Content-Type': 'application/json', ...headers, ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}) },
    JSON.stringify({ message }));
  return status;
}
