/**
 * Small HTTP helpers for the local stack: reading bodies with a limit (the
 * one JSON-body reader), answering JSON, counting answers still due, and
 * reading the SigV4 credential scope.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { BodyTooLargeError } from './errors';

/** The account id every resource of the local stack belongs to (as LocalStack). */
export const ACCOUNT_ID = '000000000000';

/** Hard cap on any request body: beyond it the connection is closed. */
export const HARD_BODY_LIMIT = 128 * 1024 * 1024;

/**
 * Reads a request body. Bytes beyond `limit` are read and dropped (so the
 * client can finish sending and read the answer), then a
 * {@link BodyTooLargeError} is thrown; beyond {@link HARD_BODY_LIMIT} the
 * request is destroyed.
 * @param req the request
 * @param limit largest accepted body in bytes
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > HARD_BODY_LIMIT) {
        req.destroy();
        reject(new BodyTooLargeError(size));
        return;
      }
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) reject(new BodyTooLargeError(size));
      else resolve(Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

/** How a service words the two refusals of a JSON body. */
export interface JsonBodyErrors {
  /** The body is larger than the operation accepts. */
  tooLarge: (limit: number) => Error;
  /** The body is not a JSON object. */
  notAnObject: () => Error;
}

/**
 * Reads a request body that must be a JSON object (an empty body is `{}`), throwing the service's
 * own errors otherwise.
 * @param req the request
 * @param limit largest accepted body in bytes
 * @param errors the service's errors
 */
export async function readJsonObject(req: IncomingMessage, limit: number, errors: JsonBodyErrors): Promise<Record<string, unknown>> {
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw errors.tooLarge(limit);
    throw err;
  }
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw errors.notAnObject();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.notAnObject();
  return value as Record<string, unknown>;
}

/**
 * Sends a complete answer unless the client has gone away.
 * @param res the response
 * @param status HTTP status
 * @param headers response headers
 * @param body body bytes or text
 */
export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body?: string | Buffer,
): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.end();
    return;
  }
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'Content-Length': String(payload?.length ?? 0) });
  res.end(payload);
}

/**
 * Sends a JSON answer.
 * @param res the response
 * @param status HTTP status
 * @param value value to serialize
 * @param headers extra headers
 */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

/**
 * Sends a provider's answer to a REST-JSON operation: its status, and its JSON body if it has
 * one, with a new `x-amzn-RequestId`.
 * @param res the response
 * @param answer the operation's status and body
 */
export function sendOperationAnswer(res: ServerResponse, answer: { status: number; body?: unknown }): void {
  if (answer.body === undefined) send(res, answer.status, { 'x-amzn-RequestId': newRequestId() });
  else sendJson(res, answer.status, answer.body, { 'x-amzn-RequestId': newRequestId() });
}

/**
 * Requests handed on to a handler and not yet answered. A server whose handler holds state it
 * closes (dynalite's database) waits for these first: a request still being worked on, say from
 * a caller that gave up, would otherwise run against the closed state and throw.
 */
export class AnswersInFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** How many answers are still due. */
  get size(): number {
    return this.count;
  }

  /**
   * Counts `res` until its `end()` is called, which the handler does even when the client has
   * gone away (its 'finish' event would then never come).
   * @param res the response the handler will end
   */
  track(res: ServerResponse): void {
    this.count += 1;
    let open = true;
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<ServerResponse['end']>) => {
      if (open) {
        open = false;
        this.count -= 1;
        if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
      }
      return end(...args);
    }) as ServerResponse['end'];
  }

  /** Resolves once every tracked answer has been ended. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The parts of a SigV4 credential scope. */
export interface CredentialScope {
  /** Access key id. */
  accessKeyId: string;
  /** Region the request was signed for. */
  region: string;
  /** Service the request was signed for (e.g. `lambda`, `iam`). */
  service: string;
}

/**
 * Reads the credential scope from the Authorization header or a presigned
 * query (`X-Amz-Credential`). Signatures are not verified.
 * @param req the request
 */
export function credentialScope(req: IncomingMessage): CredentialScope | undefined {
  const auth = req.headers.authorization ?? '';
  let credential = /Credential=([^,\s]+)/.exec(auth)?.[1];
  if (!credential) {
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('X-Amz-Credential');
    credential = q ?? undefined;
  }
  if (!credential) return undefined;
  const parts = credential.split('/');
  if (parts.length < 5) return undefined;
  return { accessKeyId: parts[0] ?? '', region: parts[2] ?? '', service: parts[3] ?? '' };
}

/**
 * The region a request was signed for, or the default.
 * @param req the request
 * @param fallback region when the request names none
 */
export function regionOf(req: IncomingMessage, fallback: string): string {
  const region = credentialScope(req)?.region;
  return region && /^[a-z]{2}(-[a-z]+)+-\d$/.test(region) ? region : fallback;
}

/** A new AWS-style request id (a UUID v4). */
export function newRequestId(): string {
  return randomUUID();
}

/**
 * Parses JSON or throws the given error factory's error.
 * @param text JSON text
 * @param onError builds the error to throw
 */
export function parseJsonOr<T>(text: string, onError: (message: string) => Error): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw onError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Percent-decodes a path part, keeping it as it is when malformed.
 * @param part the raw path part
 */
export function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
