/**
 * Helpers for the local stack tests: start a stack, build function zips,
 * make SDK clients pointed at it, await stack events.
 */
import type { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { zipSync, strToU8 } from 'fflate';
import { AddPermissionCommand, CreateFunctionCommand } from '@aws-sdk/client-lambda';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { startLocalStack } from '../../local/server';
import type { LocalStack, LocalStackOptions } from '../../local/server';

/** Dummy credentials, as for LocalStack. */
export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Lines the stack printed, for assertions and quiet test output. */
export interface StartedStack {
  stack: LocalStack;
  lines: string[];
}

/**
 * Starts a quiet stack on a free port. Functions are Active at once (`lambdaStateDelayMs: 0`)
 * unless the options say otherwise: these tests create a function and invoke it at once, where
 * the deploy script and the CLI wait for it (test/local/lambda-states.test.ts covers the wait).
 */
export async function startQuietStack(options: LocalStackOptions = {}): Promise<StartedStack> {
  const lines: string[] = [];
  const stack = await startLocalStack({ port: 0, log: (l) => lines.push(l), lambdaStateDelayMs: 0, ...options });
  return { stack, lines };
}

/** SDK client options for a stack. */
export function clientConfig(stack: LocalStack): { endpoint: string; region: string; credentials: typeof credentials; maxAttempts: number } {
  return { endpoint: stack.url, region: 'us-east-1', credentials, maxAttempts: 1 };
}

/** A zip holding the given files (e.g. a CommonJS `index.js`). */
export function zipOf(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));
}

/** The role ARN used for test functions. */
export const ROLE = 'arn:aws:iam::000000000000:role/test-role';

/** Creates a Node.js function from an `index.js` source. */
export async function createFunction(
  lambda: LambdaClient, name: string, source: string,
  extra: { Timeout?: number; MemorySize?: number; Variables?: Record<string, string>; Handler?: string; files?: Record<string, string> } = {},
): Promise<void> {
  await lambda.send(new CreateFunctionCommand({
    FunctionName: name,
    Runtime: 'nodejs20.x',
    Role: ROLE,
    Handler: extra.Handler ?? 'index.handler',
    Code: { ZipFile: zipOf(extra.files ?? { 'index.js': source }) },
    Timeout: extra.Timeout ?? 5,
    ...(extra.MemorySize ? { MemorySize: extra.MemorySize } : {}),
    ...(extra.Variables ? { Environment: { Variables: extra.Variables } } : {}),
  }));
}

/**
 * Lets API Gateway (any API of the account) invoke a function, as `lambda add-permission` does:
 * without it, the stack answers an API's call with 500, as AWS does.
 */
export async function allowApiGateway(lambda: LambdaClient, name: string): Promise<void> {
  await lambda.send(new AddPermissionCommand({
    FunctionName: name, StatementId: 'apigateway-any', Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com',
    SourceArn: 'arn:aws:execute-api:us-east-1:000000000000:*',
  }));
}

/** Resolves with the first event of that name whose payload passes the test. */
export function nextEvent<T>(events: EventEmitter, name: string, test: (e: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const listener = (e: T): void => {
      if (!test(e)) return;
      events.off(name, listener);
      resolve(e);
    };
    events.on(name, listener);
  });
}

/** Collects events of that name until `count` passed the test. */
export function collectEvents<T>(events: EventEmitter, name: string, count: number, test: (e: T) => boolean = () => true): Promise<T[]> {
  return new Promise((resolve) => {
    const seen: T[] = [];
    const listener = (e: T): void => {
      if (!test(e)) return;
      seen.push(e);
      if (seen.length === count) {
        events.off(name, listener);
        resolve(seen);
      }
    };
    events.on(name, listener);
  });
}

/** Decodes an Invoke response payload as JSON. */
export function payloadJson(payload: Uint8Array | undefined): unknown {
  return JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8'));
}

/** An HTTP endpoint a function can wait at: each request is held until the test opens the gate. */
export interface Gate {
  /** The URL to request. */
  url: string;
  /** Resolves once a request is waiting at the gate. */
  reached(): Promise<void>;
  /** Lets the oldest waiting request through. */
  open(): void;
  /** Stops the endpoint. */
  close(): void;
}

/** Starts a {@link Gate} on a free loopback port. */
export async function startGate(): Promise<Gate> {
  const waiting: Array<() => void> = [];
  const listeners: Array<() => void> = [];
  const server = createServer((_req, res) => {
    waiting.push(() => res.end('open'));
    for (const listener of listeners.splice(0)) listener();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    reached: () => (waiting.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => listeners.push(resolve))),
    open: () => waiting.shift()?.(),
    close: () => server.close(),
  };
}
