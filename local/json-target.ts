/**
 * The AWS JSON 1.1 protocol as SSM and Secrets Manager speak it: a POST whose `X-Amz-Target`
 * names the operation (`AmazonSSM.GetParameter`, `secretsmanager.CreateSecret`), a JSON body,
 * and a JSON answer; errors as `{"__type": Code, "message": ...}` (Secrets Manager: `Message`)
 * with the error's status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError } from './errors';
import { newRequestId, readJsonObject, regionOf, send } from './http';

/** The content type of every JSON 1.1 answer. */
export const JSON_11_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** Largest JSON 1.1 request the stack reads (Secrets Manager takes secrets of up to 64 KB, SSM values of up to 8 KB). */
const MAX_JSON_11_BODY = 1024 * 1024;

/** One operation: the request's fields and region in, the answer's fields out. */
export type JsonOperation = (input: Record<string, unknown>, region: string) => unknown;

/** How a service words its protocol errors. */
export interface JsonServiceErrors {
  /** The target names no operation of the service. */
  unknownOperation: (operation: string) => AwsError;
  /** The body is not a JSON object (or too large). */
  serialization: () => AwsError;
  /** A fault of the stack itself. */
  internal: () => AwsError;
  /**
   * The member that carries an error's text: `message` (SSM, the default) or `Message`
   * (Secrets Manager: its error shapes name it so, and LocalStack's
   * `test_secretsmanager.snapshot.json` records it at the top of each parsed error).
   */
  messageKey?: 'message' | 'Message';
}

/**
 * Answers one JSON 1.1 request.
 * @param req the request
 * @param res the response
 * @param prefix the target's prefix, e.g. `AmazonSSM.`
 * @param operations the service's operations by name
 * @param errors the service's protocol errors
 * @param defaultRegion region when the request was signed for none
 * @param log where the stack's own faults are written
 */
export async function handleJsonTarget(
  req: IncomingMessage, res: ServerResponse, prefix: string, operations: Readonly<Record<string, JsonOperation>>,
  errors: JsonServiceErrors, defaultRegion: string, log: (line: string) => void,
): Promise<void> {
  try {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(prefix) ? target.slice(prefix.length) : target;
    const input = await readJsonObject(req, MAX_JSON_11_BODY, { tooLarge: errors.serialization, notAnObject: errors.serialization });
    const run = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (!run) throw errors.unknownOperation(operation);
    const answer = run(input, regionOf(req, defaultRegion));
    sendJson11(res, 200, answer ?? {});
  } catch (err) {
    if (!(err instanceof AwsError)) log(`[local-stack] ${prefix} fault: ${err instanceof Error ? err.stack : String(err)}`);
    const error = err instanceof AwsError ? err : errors.internal();
    sendJson11(res, error.status, { __type: error.code, [errors.messageKey ?? 'message']: error.message, ...error.extra });
  }
}

/**
 * Sends a JSON 1.1 answer with a new request id.
 * @param res the response
 * @param status HTTP status
 * @param value the body
 */
export function sendJson11(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { 'Content-Type': JSON_11_CONTENT_TYPE, 'x-amzn-RequestId': newRequestId() }, JSON.stringify(value));
}

/**
 * A string field of a request, or undefined.
 * @param input the request's fields
 * @param name the field
 */
export function stringField(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}
