#!/usr/bin/env -S npx tsx
// npm run e2e:localstack: the browser suite against LocalStack instead of the kit's own local
// stack. Brings up docker-compose.yml (LocalStack 4.14.0: Lambda, DynamoDB, API Gateway, IAM,
// STS), deploys the kit with the deploy script, warms the functions, runs `playwright test` with
// LocalStack's invoke URLs, and takes LocalStack down again (unless --keep).
//
//   npm run e2e:localstack -- [--keep] [--endpoint http://localhost:4566] [-- <playwright args>]
//
// Needs a running Docker engine with the compose plugin. LocalStack does not enforce API
// Gateway's 29 s integration timeout, so the direct-route test (504 after 29 s) is skipped there.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { e2eDeployments, suiteEnvironment, type Role } from '../e2e/deployments';
import { ExpectedError, parseFlags, runMain, scriptArgs } from './lib/cli';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsxCli = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const COMPOSE_FILE = path.join(root, 'docker-compose.yml');
const CONTAINER = 'long-request-kit-localstack';

const USAGE = `Usage: npm run e2e:localstack -- [flags] [-- <playwright test arguments>]

Runs the browser suite (e2e/) against LocalStack in Docker: docker compose up (docker-compose.yml,
LocalStack 4.14.0), deploy the kit, run the suite with LocalStack's invoke URLs, docker compose down.
Needs a running Docker engine with the compose plugin; without Docker, npm run e2e runs the same
suite on the kit's own local stack. The direct-route test is skipped: LocalStack does not enforce
API Gateway's 29 s integration timeout.

  --keep            leave LocalStack running afterwards (stop it with: docker compose down)
  --endpoint URL    LocalStack's endpoint (default http://localhost:4566, as docker-compose.yml maps it)
  --help            this text`;

/** How {@link run} runs a command. */
interface RunOptions {
  /** pass the output through instead of collecting it */
  inherit?: boolean;
  env?: NodeJS.ProcessEnv;
  /** stop the command (SIGTERM) after this long */
  timeoutMs?: number;
}

/** What {@link run} gives back: the exit code (-1 when it did not start) and the collected output. */
interface RunResult {
  code: number;
  out: string;
}

/** Runs a command; resolves with its exit code and output (inherited when `inherit`). */
function run(command: string, args: string[], { inherit = false, env = process.env, timeoutMs }: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let out = '';
    if (!inherit) {
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    }
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGTERM'), timeoutMs) : undefined;
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: -1, out: error.code === 'ENOENT' ? `${command}: command not found` : String(error) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out: out.trim() });
    });
  });
}

function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
}

/** Docker and its compose plugin must be there and answering; one clear line otherwise. */
async function checkDocker(): Promise<void> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 });
  if (info.code !== 0) {
    throw new ExpectedError(
      `Docker is not available (${lastLine(info.out) || 'docker info failed'}): npm run e2e:localstack needs a running Docker engine. ` +
        'Without Docker, run npm run e2e: the same suite on the kit\'s own local stack.',
    );
  }
  const compose = await run('docker', ['compose', 'version', '--short'], { timeoutMs: 30_000 });
  if (compose.code !== 0) {
    throw new ExpectedError(`the Docker compose plugin is missing (${lastLine(compose.out) || 'docker compose version failed'}): install docker-compose-plugin`);
  }
  console.log(`Docker ${info.out}, compose ${compose.out}`);
}

/** What LocalStack's health endpoint tells about itself (the fields read here). */
interface Health {
  version?: string;
  edition?: string;
}

async function healthOf(endpoint: string): Promise<Health | undefined> {
  try {
    const res = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(3000) });
    return (await res.json()) as Health;
  } catch {
    return undefined;
  }
}

const localEnv: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: process.env.AWS_REGION ?? 'us-east-1', FORCE_COLOR: '0' };
delete localEnv.AWS_SESSION_TOKEN;
delete localEnv.AWS_PROFILE;

/** The fields of a deploy state file the suite needs. */
interface DeployedUrls {
  invokeUrl: string;
  directUrl: string | null;
}

async function deploy(endpoint: string, role: Role, flags: string[], stateDir: string): Promise<DeployedUrls> {
  const stateFile = path.join(stateDir, `deploy-${role}.json`);
  const result = await run(process.execPath, [tsxCli, path.join(root, 'scripts', 'deploy.ts'), '--endpoint', endpoint, '--state-file', stateFile, ...flags], { env: localEnv, timeoutMs: 600_000 });
  if (result.code !== 0) throw new ExpectedError(`deploy of ${role} failed: ${lastLine(result.out)} (flags: ${flags.join(' ')})\n${result.out}`);
  return JSON.parse(readFileSync(stateFile, 'utf8')) as DeployedUrls;
}

/**
 * One short request through each deployment, so that LocalStack pulls the Lambda runtime image
 * and starts the containers before the timed tests. Follows the 303s as fetch does.
 */
async function warm(role: Role, invokeUrl: string): Promise<void> {
  const started = Date.now();
  try {
    const res = await fetch(new URL('warm-up?seconds=0', invokeUrl), { signal: AbortSignal.timeout(300_000) });
    await res.arrayBuffer();
    if (res.status !== 200) throw new ExpectedError(`warming ${role} answered ${res.status}`);
  } catch (error) {
    if (error instanceof ExpectedError) throw error;
    throw new ExpectedError(`warming ${role} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  console.log(`  ${role} warm in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await runMain('e2e:localstack', async () => {
  const all = scriptArgs(import.meta.url);
  const split = all.indexOf('--');
  const ours = split >= 0 ? all.slice(0, split) : all;
  const playwrightArgs = split >= 0 ? all.slice(split + 1) : [];
  const flags = parseFlags(ours, { string: ['endpoint'], boolean: ['keep', 'help'], alias: { h: 'help' } });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const endpoint = (flags.endpoint ?? 'http://localhost:4566').replace(/\/+$/, '');

  await checkDocker();

  // Something else on 4566 (npm start, another LocalStack) would answer instead of ours.
  const running = await run('docker', ['ps', '-q', '--filter', `name=^${CONTAINER}$`]);
  if (!running.out && (await healthOf(endpoint)) !== undefined) {
    throw new ExpectedError(`${endpoint} already answers, but not from this compose project (npm start? another LocalStack?): stop it first`);
  }

  let up = false;
  const down = async () => {
    if (!up || flags.keep) return;
    up = false;
    console.log('--- docker compose down');
    await run('docker', ['compose', '-f', COMPOSE_FILE, 'down', '--remove-orphans'], { inherit: true, timeoutMs: 120_000 });
  };
  const onSignal = () => {
    void down().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    console.log('--- docker compose up (LocalStack 4.14.0)');
    up = true;
    const compose = await run('docker', ['compose', '-f', COMPOSE_FILE, 'up', '-d', '--wait', '--wait-timeout', '300'], { inherit: true, timeoutMs: 900_000 });
    if (compose.code !== 0) throw new ExpectedError(`docker compose up failed (exit code ${compose.code}); see docker compose logs localstack`);
    const health = await healthOf(endpoint);
    if (health === undefined) throw new ExpectedError(`LocalStack is up but ${endpoint}/_localstack/health does not answer`);
    console.log(`LocalStack ${health.version ?? ''} (${health.edition ?? 'community'}) at ${endpoint}`);

    console.log('--- build');
    const build = await run(process.execPath, [tsxCli, path.join(root, 'scripts', 'build.ts')], { inherit: true, timeoutMs: 600_000 });
    if (build.code !== 0) throw new ExpectedError(`the build failed (exit code ${build.code})`);

    console.log('--- deploy');
    const stateDir = mkdtempSync(path.join(tmpdir(), 'kit-e2e-localstack-'));
    const roles = Object.entries(e2eDeployments(randomBytes(24).toString('hex'))) as Array<[Role, string[]]>;
    const states: Partial<Record<Role, DeployedUrls>> = {};
    try {
      for (const [role, roleFlags] of roles) {
        const state = await deploy(endpoint, role, roleFlags, stateDir);
        states[role] = state;
        console.log(`  ${role}: ${state.invokeUrl}`);
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }

    console.log('--- warm-up (the first invocations pull the Lambda runtime image)');
    const deployed = states as Record<Role, DeployedUrls>;
    await Promise.all(roles.map(([role]) => warm(role, deployed[role].invokeUrl)));

    console.log('--- playwright test');
    mkdirSync(path.join(root, 'test-results'), { recursive: true });
    const env = {
      ...process.env,
      ...suiteEnvironment(deployed),
      E2E_SKIP_GATEWAY_TIMEOUT: '1',
      // LocalStack's hops are slower than the local stack's: a longer Main keeps the chain over 20.
      E2E_LONG_CHAIN_SECONDS: process.env.E2E_LONG_CHAIN_SECONDS ?? '45',
    };
    const playwright = path.join(root, 'node_modules', '@playwright', 'test', 'cli.js');
    const suite = await run(process.execPath, [playwright, 'test', ...playwrightArgs], { inherit: true, env });
    if (suite.code !== 0) throw new ExpectedError(`the browser suite failed against LocalStack (exit code ${suite.code})`);
    console.log('The browser suite passed against LocalStack.');
  } finally {
    if (flags.keep && up) console.log(`LocalStack left running at ${endpoint} (--keep): stop it with  docker compose down`);
    await down();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
});
