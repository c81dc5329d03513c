import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { follow, root, tsxCli } from '../support/deployed-kit';

// Buffered: main-example takes 1 s and the window is 0.5 s. Stream: a 3 s idle timeout leaves a
// 0.9 s window (less the 2 s margin, less a tenth), and main-example takes 2 s.
const MODES = [
  { mode: 'buffered', args: ['--main-delay', '1', '--wait-seconds', '0.5'], seconds: 1, says: /\(local stack: no Docker, no AWS account\), buffered\./ },
  { mode: 'stream', args: ['--main-delay', '2', '--transfer-mode', 'stream', '--stream-idle-timeout-ms', '3000'], seconds: 2, says: /, streaming \(STREAM integrations\)\./ },
];

describe('npm start', () => {
  it.each(MODES)('runs the whole kit locally ($mode), prints the URLs, writes them to the state file, and stops cleanly on Ctrl-C', async ({ args, seconds, says }) => {
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
    expect(urls.kit).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_aws\/execute-api\/[a-z0-9]{10}\/dev\/$/);

    expect(output.some((line) => says.test(line))).toBe(true);
    // main-example takes longer than the window: the answer comes after a 303.
    const { statuses, body } = await follow(`${urls.kit}hello`);
    expect(statuses[0]).toBe(303);
    expect(statuses[statuses.length - 1]).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ path: '/hello', waitedSeconds: seconds });
    // The functions' logs stream to the console, prefixed with the function's name.
    await lineMatching(/^\[long-request-kit-proxy\] .*"result delivered"/);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 120_000);
});
