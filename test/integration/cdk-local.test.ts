import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startLocalStack, type LocalStack } from '../../local/index';
import { follow, root, tsxCli } from '../support/deployed-kit';

// The example CDK app deployed from its synthesized template by `npm run cdk:local`, on fresh
// stacks (one with the REST API, one with KIT_API_TYPE=http), through the stack's CloudFormation:
// the kit then runs as the template built it. The stacks scale API Gateway's integration timeout
// down to 5 s (the template's integrations ask for 29 s and 30 s), so that a 7 s job outlives it;
// the client asks the Proxy for short waits (`Prefer: wait=2`), which it answers with 303s.
const execFileP = promisify(execFile);

const INTEGRATION_TIMEOUT_MS = 5000;

interface Deployed {
  stack: LocalStack;
  logs: string[];
  url: string;
  stdout: string;
  /** The cloud assembly of the deploy. */
  out: string;
}

function cdkLocal(stack: LocalStack, apiType: 'rest' | 'http', out: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileP(process.execPath, [tsxCli, 'scripts/cdk-local.ts', '--out', out, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: path.dirname(out), AWS_ENDPOINT_URL: stack.url, KIT_API_TYPE: apiType, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0' },
  });
}

async function deploy(apiType: 'rest' | 'http'): Promise<Deployed> {
  const logs: string[] = [];
  const stack = await startLocalStack({ port: 0, log: (line) => logs.push(line), integrationTimeoutMs: INTEGRATION_TIMEOUT_MS });
  const out = path.join(mkdtempSync(path.join(tmpdir(), `cdk-local-${apiType}-`)), 'cdk.out');
  try {
    const { stdout } = await cdkLocal(stack, apiType, out);
    const url = /^Url \(on the local stack.*\): (\S+)$/m.exec(stdout)?.[1];
    if (!url) throw new Error(`no Url line in:\n${stdout}`);
    return { stack, logs, url, stdout, out };
  } catch (error) {
    await stack.stop();
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`cdk:local failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
  }
}

/** Invocations of the kit's Main (the example) so far. */
function mainInvocations(d: Deployed): number {
  const functions = d.stack.ops.stats().lambda.functions;
  return Object.entries(functions).filter(([name]) => name.includes('KitMainExample')).reduce((n, [, c]) => n + c.invocations, 0);
}

let rest: Deployed;
let http: Deployed;
/** A stack whose DynamoDB answers 503, so that the table's creation fails. */
let outage: LocalStack;
let refused: { code: number; stderr: string };

beforeAll(async () => {
  outage = await startLocalStack({ port: 0, log: () => {} });
  outage.ops.stopDynamoDb({ mode: 'unavailable' });
  const failing = cdkLocal(outage, 'rest', path.join(mkdtempSync(path.join(tmpdir(), 'cdk-local-outage-')), 'cdk.out')).then(() => ({ code: 0, stderr: '' }), (e: { code?: number; stderr?: string }) => ({ code: e.code ?? 1, stderr: e.stderr ?? '' }));
  [rest, http, refused] = await Promise.all([deploy('rest'), deploy('http'), failing]);
}, 240_000);

afterAll(async () => {
  await Promise.all([rest?.stack.stop(), http?.stack.stop(), outage?.stop()]);
});

describe('npm run cdk:local', () => {
  it('deploys the stack and prints the local URL of the template\'s API', () => {
    expect(rest.stdout).toMatch(/^LongRequestKit: CREATE_COMPLETE$/m);
    expect(rest.url).toMatch(new RegExp(`^${rest.stack.url}/_aws/execute-api/[a-z0-9]{10}/dev/$`));
    // An HTTP API's $default stage has no path of its own.
    expect(http.url).toMatch(new RegExp(`^${http.stack.url}/_aws/execute-api/[a-z0-9]{10}/$`));
  });

  it('ends with one line naming the stack\'s first failure and its reason when the stack fails', () => {
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n').filter((l) => l.startsWith('cdk:local:'))).toEqual([
      expect.stringMatching(/^cdk:local: stack LongRequestKit ended ROLLBACK_COMPLETE: KitTasks\w+: Resource handler returned message: ".+" \(RequestToken: [0-9a-f-]+, HandlerErrorCode: ServiceInternalError\)$/),
    ]);
  });

  it.concurrent.each([['REST', () => rest], ['HTTP', () => http]] as const)('runs the kit behind the %s API: a short job answers 200 at once, one longer than the integration timeout after 303s, Main running once', async (_name, deployed) => {
    const d = deployed();
    const short = await follow(`${d.url}jobs?seconds=1`);
    expect(short.statuses).toEqual([200]);
    expect(JSON.parse(short.body)).toMatchObject({ path: '/jobs', waitedSeconds: 1 });

    const before = mainInvocations(d);
    const { statuses, body, elapsedMs } = await follow(`${d.url}long?seconds=7`, { headers: { prefer: 'wait=2' } });
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(statuses.slice(0, -1).every((s) => s === 303)).toBe(true);
    expect(statuses.at(-1)).toBe(200);
    expect(elapsedMs).toBeGreaterThanOrEqual(7000);
    expect(JSON.parse(body)).toMatchObject({ path: '/long', waitedSeconds: 7 });
    expect(mainInvocations(d) - before).toBe(1);
  }, 60_000);
});

describe('npm run cdk:local -- --destroy', () => {
  it('deletes the stack and its resources', async () => {
    const { stdout } = await cdkLocal(rest.stack, 'rest', rest.out, '--destroy');
    expect(stdout).toMatch(/^deleted LongRequestKit$/m);
    const functions = (await (await fetch(`${rest.stack.url}/2015-03-31/functions/`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0' },
    })).json()) as { Functions: unknown[] };
    expect(functions.Functions).toEqual([]);
    // The API is gone: its invoke URL answers as execute-api answers an unknown API id.
    expect((await fetch(rest.url)).status).toBe(403);
  }, 60_000);
});
