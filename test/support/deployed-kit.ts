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
