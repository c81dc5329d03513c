/**
 * Global setup of the browser suite. Without `E2E_BASE_URL` it starts the local AWS stack on a
 * free loopback port (the CLI, as a child process whose output goes to a log file the tests
 * read), builds the functions if their zips are stale, and deploys the kit with the deploy script
 * five times under different name prefixes, one deployment per concern so that each test can
 * count its own Main's runs, behind REST APIs, or HTTP APIs with `E2E_API_TYPE=http`. The returned function is the global teardown: it stops the stack.
 *
 * With `E2E_BASE_URL` set it deploys nothing: the tests drive the browser against it.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { zipsAreStale } from '../scripts/lib/build-lib';
import { chooseChromium } from './support/browser';
import { e2eApiType, e2eDeployments, mainFunctionName, suiteEnvironment, type Role } from './deployments';

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const tsxCli = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
/** Kept after the run: the stack's log (every function's output) and the deploy state files. */
const workDir = path.join(root, 'test-results', 'e2e-stack');

function log(line: string): void {
  console.log(`[e2e setup] ${line}`);
}

interface RunningStack {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `local/cli.ts` on a free port; every line it prints goes to `logFile`. */
async function startStack(logFile: string): Promise<RunningStack> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'local', 'cli.ts'), '--port', '0', '--host', '127.0.0.1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const record = (line: string): void => appendFileSync(logFile, `${line}\n`);
  createInterface({ input: child.stderr! }).on('line', record);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local stack did not start within 60 s; see ${logFile}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      record(line);
      const match = /ready at (http:\/\/\S+)/.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the local stack stopped before it was ready (exit code ${code}); see ${logFile}`));
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  return { url, child, stop };
}

async function deploy(endpoint: string, role: Role, flags: string[]): Promise<{ invokeUrl: string; directUrl: string | null }> {
  const stateFile = path.join(workDir, `deploy-${role}.json`);
  const home = path.join(workDir, 'home');
  mkdirSync(home, { recursive: true });
  try {
    await execFileP(process.execPath, [tsxCli, 'scripts/deploy.ts', '--endpoint', endpoint, '--state-file', stateFile, ...flags], {
      cwd: root,
      // The local stack takes any credentials; never hand real ones to it.
      env: { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0' },
      timeout: 120_000,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message?: string };
    throw new Error(`deploy of ${role} (${flags.join(' ')}) failed:\n${e.stdout ?? ''}\n${e.stderr ?? e.message ?? ''}`, { cause: error });
  }
  return JSON.parse(readFileSync(stateFile, 'utf8')) as { invokeUrl: string; directUrl: string | null };
}

export default async function globalSetup(): Promise<(() => Promise<void>) | undefined> {
  const browser = chooseChromium();
  // `npm run e2e` asks for the browser suite: without a browser it fails, it never passes empty.
  if (browser.missing) throw new Error(`Chromium: ${browser.missing}`);
  log(`browser: ${browser.description}`);

  if (process.env.E2E_BASE_URL?.trim()) {
    log(`E2E_BASE_URL is set: deploying nothing, driving the browser against ${process.env.E2E_BASE_URL}`);
    return undefined;
  }

  const started = Date.now();
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const logFile = path.join(workDir, 'stack.log');
  writeFileSync(logFile, '');

  if (zipsAreStale(root)) {
    log('building the functions (their zips are missing or older than the sources)');
    try {
      await execFileP(process.execPath, [tsxCli, 'scripts/build.ts'], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, timeout: 300_000 });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`the build failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
    }
  }

  const stack = await startStack(logFile);
  log(`local stack at ${stack.url} (log: ${path.relative(process.cwd(), logFile)})`);
  const secret = randomBytes(24).toString('hex');
  const apiType = e2eApiType(process.env.E2E_API_TYPE);
  log(`API type: ${apiType} (E2E_API_TYPE)`);
  const roles = Object.entries(e2eDeployments(secret, apiType)) as Array<[Role, string[]]>;
  let states: Array<[Role, { invokeUrl: string; directUrl: string | null }]>;
  try {
    states = await Promise.all(roles.map(async ([role, flags]) => [role, await deploy(stack.url, role, flags)] as [Role, { invokeUrl: string; directUrl: string | null }]));
  } catch (error) {
    await stack.stop();
    throw error;
  }
  const urls = Object.fromEntries(states) as Record<Role, { invokeUrl: string; directUrl: string | null }>;

  // Workers are started after global setup and inherit these.
  Object.assign(process.env, suiteEnvironment(urls), {
    E2E_STACK_LOG: logFile,
    E2E_MAIN_FUNCTIONS: JSON.stringify(Object.fromEntries(roles.map(([role, flags]) => [role, mainFunctionName(flags)]))),
  });
  log(`deployed ${roles.length} copies of the kit in ${((Date.now() - started) / 1000).toFixed(1)} s; through the kit: ${urls.base.invokeUrl}`);

  return async () => {
    await stack.stop();
    log('local stack stopped');
  };
}
