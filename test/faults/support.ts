/**
 * What the fault matrix shares: one local stack per test file, several deployments of the kit
 * in it (one per case, so that each case counts its own Main's runs), made by the real deploy
 * script from the real zips; a client that follows 303s; waits on the stack's events.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { strToU8, zipSync } from 'fflate';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/index';
import type { DeployState } from '../../scripts/lib/deploy-run';
import { root, tsxCli } from '../support/deployed-kit';

export { follow } from '../support/deployed-kit';

const execFileP = promisify(execFile);

/** Fault tests run only under vitest.faults.config.ts (`npm run test:faults`), which sets this. */
export const faultsEnabled = process.env['RUN_FAULT_MATRIX'] === '1';

/** A stack with its console lines. */
export interface FaultStack {
  stack: LocalStack;
  /** Every console line: function output (`[fn] ...`) and API Gateway lines. */
  lines: string[];
  /** Emits `line` after each console line is recorded. */
  lineEvents: EventEmitter;
  /** SDK clients on the stack. */
  lambda: LambdaClient;
  dynamodb: DynamoDBClient;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Starts a quiet stack on a free port. */
export async function startFaultStack(options: LocalStackOptions = {}): Promise<FaultStack> {
  const lines: string[] = [];
  const lineEvents = new EventEmitter().setMaxListeners(0);
  const record = (line: string) => {
    lines.push(line);
    lineEvents.emit('line', line);
  };
  const stack = await startLocalStack({ port: 0, log: record, ...options });
  const config = { endpoint: stack.url, region: 'us-east-1', credentials, maxAttempts: 1 };
  const lambda = new LambdaClient(config);
  const dynamodb = new DynamoDBClient(config);
  return {
    stack,
    lines,
    lineEvents,
    lambda,
    dynamodb,
    async stop() {
      lambda.destroy();
      dynamodb.destroy();
      await stack.stop();
    },
  };
}

/** One deployment of the kit in a fault stack. */
export interface Deployment {
  prefix: string;
  state: DeployState;
  /** Function names. */
  proxy: string;
  talker: string;
  main: string;
  table: string;
}

/**
 * Deploys the kit into a running stack with the deploy script, as a user would.
 * @param fs the stack
 * @param prefix the name prefix (one per case)
 * @param args more deploy flags
 */
export async function deployInto(fs: FaultStack, prefix: string, args: string[] = []): Promise<Deployment> {
  const scratch = mkdtempSync(path.join(tmpdir(), `faults-${prefix}-`));
  const stateFile = path.join(scratch, 'state.json');
  try {
    await execFileP(process.execPath, [tsxCli, 'scripts/deploy.ts', '--endpoint', fs.stack.url, '--state-file', stateFile, '--name-prefix', prefix, ...args], {
      cwd: root,
      env: { PATH: process.env['PATH'], HOME: scratch, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0' },
    });
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as DeployState;
    return {
      prefix,
      state,
      proxy: state.functions.proxy?.name ?? `${prefix}-proxy`,
      talker: state.functions.talker?.name ?? `${prefix}-talker`,
      main: state.functions.main?.name ?? args[args.indexOf('--main-name') + 1] ?? `${prefix}-main`,
      table: state.table,
    };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`deploy of ${prefix} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Deploys each named deployment into the stack, three at a time (each deploy is a Node process
 * of its own), and returns a lookup that fails loudly for a name it does not know.
 * @param fs the stack
 * @param deployments deploy flags by name prefix
 */
export async function deployAll(fs: FaultStack, deployments: Record<string, string[]>): Promise<(name: string) => Deployment> {
  const kits: Record<string, Deployment> = {};
  const names = Object.keys(deployments);
  for (let i = 0; i < names.length; i += 3) {
    await Promise.all(names.slice(i, i + 3).map(async (name) => {
      kits[name] = await deployInto(fs, name, deployments[name]);
    }));
  }
  return (name) => {
    const d = kits[name];
    if (!d) throw new Error(`no deployment ${name}`);
    return d;
  };
}

/** A URL below a deployment's invoke URL. */
export const urlOf = (d: Deployment, rest: string): string => `${d.state.invokeUrl}${rest}`;

/** The `error` of one of the kit's own error bodies. */
export function kitErrorOf(text: string): KitError['error'] {
  return (JSON.parse(text) as KitError).error;
}

/** Main's echoed query value `m` (main-example echoes the whole query; the custom Main its `m`). */
export function echoedMarker(body: string): string | undefined {
  const parsed = JSON.parse(body) as { query?: Record<string, string[]>; m?: string };
  return parsed.query?.['m']?.[0] ?? parsed.m;
}

/**
 * A Main that is not main-example, from an inline CommonJS handler (zipped with fflate),
 * created through the stack's Lambda API.
 */
export async function createCustomMain(fs: FaultStack, name: string, source: string, timeoutSeconds: number): Promise<void> {
  await fs.lambda.send(new CreateFunctionCommand({
    FunctionName: name,
    Runtime: 'nodejs22.x',
    Role: 'arn:aws:iam::000000000000:role/fault-main',
    Handler: 'index.handler',
    Code: { ZipFile: zipSync({ 'index.js': strToU8(source) }) },
    Timeout: timeoutSeconds,
  }));
}

/** How many times a function ran: its `START RequestId` lines (one per invocation, as in CloudWatch). */
export function runsOf(fs: FaultStack, functionName: string): number {
  const start = `[${functionName}] START RequestId: `;
  return fs.lines.filter((line) => line.startsWith(start)).length;
}

/** The JSON log lines (Powertools) a function wrote, parsed. */
export function jsonLogs(fs: FaultStack, functionName: string): Record<string, unknown>[] {
  const prefix = `[${functionName}] {`;
  return fs.lines.filter((line) => line.startsWith(prefix)).map((line) => JSON.parse(line.slice(functionName.length + 3)) as Record<string, unknown>);
}

export { nextEvent } from '../local/helpers';

/** The stack's `invocation-start` event. */
export interface StartEvent {
  functionName: string;
  requestId: string;
}

/** The stack's `invocation` event (a synchronous invocation ended). */
export interface EndEvent {
  functionName: string;
  requestId: string;
  ok: boolean;
  errorType?: string;
  timedOut: boolean;
}

/** The stack's `async-attempt` event. */
export interface AsyncAttempt {
  functionName: string;
  requestId: string;
  attempt: number;
  ok: boolean;
  errorType?: string;
}

/** Reads a task row (or its result row) as DynamoDB holds it, without the kit's code. */
export async function readRow(fs: FaultStack, table: string, key: string): Promise<Record<string, AttributeValue> | undefined> {
  const out = await fs.dynamodb.send(new GetItemCommand({ TableName: table, Key: { RequestID: { S: key } }, ConsistentRead: true }));
  return out.Item;
}

/** The error body of the kit's own answers. */
export interface KitError {
  error: { status: number; code: string; message: string; requestId?: string };
}

/** A unique marker for a request's query, echoed back by Main. */
export function marker(label: string): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Resolves when no environment of these functions is busy (polls the stack, no fixed sleep). */
export async function quiet(fs: FaultStack, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (fs.stack.environments().busy > 0) {
    if (Date.now() > until) throw new Error(`the stack is still busy after ${timeoutMs} ms: ${JSON.stringify(fs.stack.environments())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
