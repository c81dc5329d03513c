import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { follow, root, tsxCli } from '../support/deployed-kit';

// Buffered: main-example takes 1 s and the window is 0.5 s. Stream: a 3 s idle timeout leaves a
// 0.9 s window (less the 2 s margin, less a tenth), and main-example takes 2 s. HTTP: an HTTP API
// (payload 2.0) at its $default stage, buffered, as REST.
const REST_URL = /^http:\/\/127\.0\.0\.1:\d+\/_aws\/execute-api\/[a-z0-9]{10}\/dev\/$/;
const MODES = [
  { mode: 'buffered', args: ['--main-delay', '1', '--wait-seconds', '0.5'], seconds: 1, says: /\(local stack: no Docker, no AWS account\), buffered\./, url: REST_URL, cutOff: '504 after 29 s' },
  { mode: 'stream', args: ['--main-delay', '2', '--transfer-mode', 'stream', '--stream-idle-timeout-ms', '3000'], seconds: 2, says: /, streaming \(STREAM integrations\)\./, url: REST_URL, cutOff: '504 after 29 s' },
  {
    mode: 'http', args: ['--main-delay', '1', '--wait-seconds', '0.5', '--api-type', 'http'], seconds: 1,
    says: /\(local stack: no Docker, no AWS account\), buffered, behind an HTTP API \(payload 2\.0\)\./,
    url: /^http:\/\/127\.0\.0\.1:\d+\/_aws\/execute-api\/[a-z0-9]{10}\/$/, cutOff: '503 after 30 s',
  },
];

describe('npm start', () => {
  it.each(MODES)('runs the whole kit locally ($mode), prints the URLs, writes them to the state file, and stops cleanly on Ctrl-C', async ({ args, seconds, says, url, cutOff }) => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'start-'));
    const stateFile = path.join(scratch, 'state.json');
    const child = spawn(process.execPath, [tsxCli, 'scripts/start.ts', '--port', '0', ...args, '--state-file', stateFile], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: scratch, FORCE_COLOR: '0', AWS_EC2_METADATA_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
    const record = (line: string) => {
      output.push(line);
      for (const waiter of waiters) if (waiter.pattern.test(line)) waiter.resolve();
    };
    const lineMatching = (pattern: RegExp) =>
      output.some((line) => pattern.test(line)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pattern, resolve }));
    createInterface({ input: child.stderr }).on('line', record);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Whatever happens below, never leave the stack running.
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const urls = await new Promise<{ kit: string; direct: string }>((resolve, reject) => {
      let kit = '';
      createInterface({ input: child.stdout }).on('line', (line) => {
        record(line);
        kit ||= /Through the kit:\s+(\S+)/.exec(line)?.[1] ?? '';
        const direct = /Without the kit:\s+(\S+)/.exec(line)?.[1];
        if (kit && direct) resolve({ kit, direct });
      });
      void exited.then((code) => reject(new Error(`npm start exited with ${code}:\n${output.join('\n')}`)));
    });
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { invokeUrl: string; directUrl: string };
    expect(state).toMatchObject({ invokeUrl: urls.kit, directUrl: urls.direct });
    expect(urls.kit).toMatch(url);
    expect(urls.direct).toBe(`${urls.kit}direct`);
    expect(output.some((line) => line.trim() === `the same Main behind API Gateway alone: ${cutOff}`)).toBe(true);

    expect(output.some((line) => says.test(line))).toBe(true);
    // main-example takes longer than the window: the answer comes after a 303.
    const { statuses, body } = await follow(`${urls.kit}hello`);
    expect(statuses[0]).toBe(303);
    expect(statuses[statuses.length - 1]).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ path: '/hello', waitedSeconds: seconds, payloadVersion: args.includes('http') ? '2.0' : '1.0' });
    // The functions' logs stream to the console, prefixed with the function's name.
    await lineMatching(/^\[long-request-kit-proxy\] .*"result delivered"/);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 120_000);

  it('refuses --api-type http with --transfer-mode stream, and an unknown --api-type', async () => {
    const run = (...args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [tsxCli, 'scripts/start.ts', ...args], { cwd: root, env: { PATH: process.env.PATH, FORCE_COLOR: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    const stream = await run('--api-type', 'http', '--transfer-mode', 'stream');
    expect(stream.code).toBe(1);
    expect(stream.stderr.trim()).toBe('start: --transfer-mode stream needs a REST API: HTTP APIs have no response streaming (use --api-type rest)');
    const unknown = await run('--api-type', 'soap');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('start: --api-type must be rest or http, got "soap"');
  }, 60_000);
});
