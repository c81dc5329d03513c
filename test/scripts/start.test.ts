import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { follow, root, tsxCli } from '../support/deployed-kit';

describe('npm start', () => {
  it('runs the whole kit locally, prints the URLs, writes them to the state file, and stops cleanly on Ctrl-C', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'start-'));
    const stateFile = path.join(scratch, 'state.json');
    const child = spawn(process.execPath, [tsxCli, 'scripts/start.ts', '--port', '0', '--main-delay', '1', '--wait-seconds', '0.5', '--state-file', stateFile], {
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

    // main-example takes 1 s and the window is 0.5 s: the answer comes after a 303.
    const { statuses, body } = await follow(`${urls.kit}hello`);
    expect(statuses[0]).toBe(303);
    expect(statuses[statuses.length - 1]).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ path: '/hello', waitedSeconds: 1 });
    // The functions' logs stream to the console, prefixed with the function's name.
    await lineMatching(/^\[long-request-kit-proxy\] .*"result delivered"/);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 120_000);
});
