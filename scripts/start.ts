#!/usr/bin/env -S npx tsx
// npm start: the whole kit on this machine, with Node alone (no Docker, no AWS account):
// builds the functions if needed, starts the local AWS stack, deploys the kit with the 60 s
// main-example and the direct route, prints the URLs, then streams the functions' logs until Ctrl-C.
//
//   npm start -- [--port 4566] [--main-delay 60] [--wait-seconds 25] [--api-type rest|http]
//                [--transfer-mode buffered|stream] [--stream-idle-timeout-ms N] [--iam on|off] [--data-dir DIR] [--state-file PATH]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PROXY_ENV } from '../core/config';
import { zipsAreStale } from './lib/build-lib';
import { ExpectedError, parseFlags, runMain, scriptArgs, UsageError } from './lib/cli';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm start -- [flags]

Runs the whole kit locally: the local AWS stack (DynamoDB, Lambda, API Gateway, IAM) on one
loopback port, with Proxy, Talker and a main-example that takes 60 s deployed behind a REST API
(or an HTTP API with --api-type http).

  --port N            the stack's port (default 4566; 0 picks a free one)
  --api-type TYPE     rest (default: a REST API, payload 1.0, 29 s) or http (an HTTP API,
                      payload 2.0, 30 s, $default stage; no stream mode)
  --main-delay S      how long main-example takes (default 60)
  --wait-seconds S    the Proxy's wait window before each 303 (default 25; in stream mode 2 s
                      less than the stream's idle timeout less the margin, or a tenth of that
                      when less: 3.6 s with a 6000 ms idle timeout)
  --transfer-mode M   buffered (default) or stream: the Proxy streams its answer through a
                      STREAM integration (up to 15 minutes, bounded by the idle timeout)
  --stream-idle-timeout-ms N
                      the stack's idle timeout of streamed answers and the Proxy's matching
                      bound (default 300000, as Regional endpoints; smaller for demos)
  --iam on|off        whether the stack enforces IAM (default on: each function may do only what
                      its execution role allows, and API Gateway needs the function's permission)
  --data-dir DIR      keep DynamoDB data on disk (default: in memory)
  --state-file PATH   where the URLs are written as JSON (default .local/deploy-state.json)
  --help              this text`;


// The local stack takes any credentials; never send real ones to it.
const localEnv: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' };
delete localEnv.AWS_SESSION_TOKEN;
delete localEnv.AWS_PROFILE;

/** Runs a Node script with the local credentials; rejects when it exits with an error. */
function run(args: string[], label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: localEnv });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new ExpectedError(`${label} failed (exit code ${code})`))));
  });
}

/** Whether something already answers on the port (a stack started earlier, or LocalStack). */
async function portAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/_localstack/health`, { signal: AbortSignal.timeout(1000) });
    return res.status > 0;
  } catch {
    return false;
  }
}

/** Starts the stack as a child process; resolves with its URL once it says it is ready. */
function startStack(port: number, dataDir: string | undefined, streamIdleMs: string | undefined, iam: 'on' | 'off'): { child: ChildProcess; ready: Promise<string> } {
  const args = ['--import', 'tsx', path.join(root, 'local', 'cli.ts'), '--port', String(port), '--iam', iam];
  if (dataDir) args.push('--data-dir', dataDir);
  if (streamIdleMs !== undefined) args.push('--stream-idle-timeout-ms', streamIdleMs);
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  const ready = new Promise<string>((resolve, reject) => {
    child.on('exit', (code) => reject(new ExpectedError(`the local stack stopped (exit code ${code})`)));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /ready at (http:\/\/\S+)/.exec(line);
      if (match?.[1]) resolve(match[1]);
      else console.log(line);
    });
  });
  createInterface({ input: child.stderr }).on('line', (line) => console.error(line));
  return { child, ready };
}

await runMain('start', async () => {
  const flags = parseFlags(scriptArgs(import.meta.url), {
    string: ['port', 'main-delay', 'wait-seconds', 'data-dir', 'state-file', 'transfer-mode', 'stream-idle-timeout-ms', 'api-type', 'iam'],
    boolean: ['help'],
    alias: { h: 'help' },
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const port = flags.port === undefined ? 4566 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got ${flags.port}`);
  const mainDelay = flags['main-delay'] ?? '60';
  const stateFile = path.resolve(root, flags['state-file'] ?? '.local/deploy-state.json');
  const transferMode = flags['transfer-mode'] ?? 'buffered';
  if (transferMode !== 'buffered' && transferMode !== 'stream') throw new UsageError(`--transfer-mode must be buffered or stream, got "${transferMode}"`);
  const iam = flags.iam ?? 'on';
  if (iam !== 'on' && iam !== 'off') throw new UsageError(`--iam must be on or off, got "${iam}"`);
  const apiType = flags['api-type'] ?? 'rest';
  if (apiType !== 'rest' && apiType !== 'http') throw new UsageError(`--api-type must be rest or http, got "${apiType}"`);
  if (apiType === 'http' && transferMode === 'stream') {
    throw new UsageError('--transfer-mode stream needs a REST API: HTTP APIs have no response streaming (use --api-type rest)');
  }
  const streamIdle = flags['stream-idle-timeout-ms'];
  if (streamIdle !== undefined && (!/^\d+$/.test(streamIdle) || Number(streamIdle) < 1000 || Number(streamIdle) > 900_000)) {
    throw new UsageError(`--stream-idle-timeout-ms must be a whole number from 1000 to 900000, got "${streamIdle}"`);
  }

  if (port !== 0 && (await portAnswers(port))) {
    throw new ExpectedError(`port ${port} is already in use (another npm start, or LocalStack?): stop it, or pass --port`);
  }
  if (zipsAreStale(root)) {
    console.log('Building the functions...');
    await run([path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(root, 'scripts', 'build.ts')], 'build');
  }

  const { child, ready } = startStack(port, flags['data-dir'], streamIdle, iam);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the local stack...');
    child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const exited = new Promise((resolve) => child.on('exit', resolve));

  const url = await ready;
  const deploy = [
    path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
    path.join(root, 'scripts', 'deploy.ts'),
    '--endpoint', url,
    '--direct-route',
    '--main-delay', String(mainDelay),
    '--state-file', stateFile,
  ];
  if (flags['wait-seconds'] !== undefined) deploy.push('--wait-seconds', String(flags['wait-seconds']));
  if (transferMode === 'stream') deploy.push('--transfer-mode', 'stream');
  if (apiType === 'http') deploy.push('--api-type', 'http');
  // The Proxy's bound matches the stack's idle timeout.
  if (streamIdle !== undefined) deploy.push('--proxy-env', `${PROXY_ENV.streamIdleTimeoutMs}=${streamIdle}`);
  try {
    await run(deploy, 'deploy');
  } catch (error) {
    stop();
    await exited;
    throw error;
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8'));
  const mode = transferMode === 'stream' ? 'streaming (STREAM integrations)' : 'buffered';
  // API Gateway's own answer when Main outlasts the integration timeout.
  const cutOff = apiType === 'http' ? '503 after 30 s' : '504 after 29 s';
  console.log(`
The kit is running on ${url} (local stack: no Docker, no AWS account), ${mode}${apiType === 'http' ? ', behind an HTTP API (payload 2.0)' : ''}.

  Through the kit:  ${state.invokeUrl}
                    Main takes ${mainDelay} s: open it in a browser, or run  curl -L ${state.invokeUrl}
  Without the kit:  ${state.directUrl}
                    the same Main behind API Gateway alone: ${cutOff}

  Try ?seconds=N to change Main's time, ?fail=1 to make it throw.
  State: ${path.relative(process.cwd(), stateFile)}    Function logs follow; Ctrl-C stops.
`);
  const code = await exited;
  if (!stopping) throw new ExpectedError(`the local stack stopped unexpectedly (exit code ${code})`);
});
