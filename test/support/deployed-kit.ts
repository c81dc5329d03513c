/**
 * The kit deployed for real: the local stack in this process, the deploy script run against it
 * as a user would run it, and a client that follows 303s the way a browser does.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/index';
import type { DeployState } from '../../scripts/lib/deploy-run';

const execFileP = promisify(execFile);
export const root = path.resolve(import.meta.dirname, '..', '..');
export const tsxCli = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

export interface DeployedKit {
  stack: LocalStack;
  state: DeployState;
  /** Function console lines, for assertions on what ran. */
  logs: string[];
  /** The deploy's state file (for a second deploy of the same kit). */
  stateFile: string;
  stop(): Promise<void>;
}

/**
 * Starts a stack and deploys the kit onto it.
 *
 * @param prepare - runs on the stack before the deploy (e.g. creates the Main a `--main-name` names)
 */
export async function deployKit(deployArgs: string[], stackOptions: LocalStackOptions = {}, prepare?: (stack: LocalStack) => Promise<void>): Promise<DeployedKit> {
  const logs: string[] = [];
  const stack = await startLocalStack({ port: 0, log: (line) => logs.push(line), ...stackOptions });
  const scratch = mkdtempSync(path.join(tmpdir(), 'kit-'));
  const stateFile = path.join(scratch, 'state.json');
  try {
    await prepare?.(stack);
    await execFileP(process.execPath, [tsxCli, 'scripts/deploy.ts', '--endpoint', stack.url, '--state-file', stateFile, ...deployArgs], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: scratch, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0' },
    });
  } catch (error) {
    await stack.stop();
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`deploy failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as DeployState;
  return { stack, state, logs, stateFile, stop: () => stack.stop() };
}

/** The kit deployed from the example CDK app's template by `npm run cdk:local`. */
export interface CdkDeployedKit {
  stack: LocalStack;
  /** The kit's URL on the local stack, ending in `/`. */
  invokeUrl: string;
  /** Main's own route (`KIT_DIRECT_ROUTE=1`), without a trailing slash. */
  directUrl: string;
  /** main-example's function name, as CloudFormation named it. */
  mainName: string;
  /** Function console lines, for assertions on what ran. */
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Starts a stack and deploys the example CDK app onto it through the stack's CloudFormation, as
 * a user runs `npm run cdk:local` (with `KIT_API_TYPE` and `KIT_DIRECT_ROUTE` from `env`).
 */
export async function deployKitWithCdk(env: Record<string, string> = {}, stackOptions: LocalStackOptions = {}): Promise<CdkDeployedKit> {
  const logs: string[] = [];
  const stack = await startLocalStack({ port: 0, log: (line) => logs.push(line), ...stackOptions });
  const scratch = mkdtempSync(path.join(tmpdir(), 'kit-cdk-'));
  let stdout: string;
  try {
    ({ stdout } = await execFileP(process.execPath, [tsxCli, 'scripts/cdk-local.ts', '--out', path.join(scratch, 'cdk.out')], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: scratch, AWS_ENDPOINT_URL: stack.url, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0', ...env },
    }));
  } catch (error) {
    await stack.stop();
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`cdk:local failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
  }
  const invokeUrl = /^Url \(on the local stack.*\): (\S+)$/m.exec(stdout)?.[1];
  // CloudFormation named the functions: find main-example among them.
  const listed = await fetch(`${stack.url}/2015-03-31/functions/`, {
    headers: { authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0' },
  });
  const { Functions: functions } = await listed.json() as { Functions: Array<{ FunctionName: string }> };
  const mainName = functions.map((f) => f.FunctionName).find((name) => name.includes('KitMainExample'));
  if (!invokeUrl || !mainName) {
    await stack.stop();
    throw new Error(`cdk:local printed no Url, or deployed no main-example:\n${stdout}`);
  }
  return { stack, invokeUrl, directUrl: `${invokeUrl}direct`, mainName, logs, stop: () => stack.stop() };
}

export interface Followed {
  response: Response;
  body: string;
  /** The status of each response in the chain, the final one last. */
  statuses: number[];
  /** The URL of each request in the chain, the first one first. */
  urls: string[];
  elapsedMs: number;
}

/** Requests a URL and follows 303s with GETs, as a browser or `curl -L` does, counting hops. */
export async function follow(url: string, init: RequestInit = {}, maxHops = 100): Promise<Followed> {
  const started = Date.now();
  const statuses: number[] = [];
  const urls = [url];
  let target = url;
  let response = await fetch(target, { ...init, redirect: 'manual' });
  statuses.push(response.status);
  while (response.status >= 301 && response.status <= 308 && statuses.length <= maxHops) {
    await response.arrayBuffer();
    target = new URL(response.headers.get('location') ?? '', target).toString();
    urls.push(target);
    response = await fetch(target, { redirect: 'manual', ...(init.headers && { headers: init.headers }) });
    statuses.push(response.status);
  }
  const body = await response.text();
  return { response, body, statuses, urls, elapsedMs: Date.now() - started };
}
