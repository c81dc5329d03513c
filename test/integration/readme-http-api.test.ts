// The README's manual steps for an HTTP API, run as a user would paste them: the code blocks of
// "6, for an HTTP API instead" and its results route, taken from README.md itself, run by bash
// with the AWS CLI v2 (/usr/bin/aws) against the local stack, after the table and the functions
// of steps 1 to 5 (made here by the deploy script, under the README's names). Then a request
// through the HTTP API they built gets Main's answer through the kit, after a 303.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { deployKit, follow, root, type DeployedKit } from '../support/deployed-kit';

const execFileP = promisify(execFile);
const AWS = '/usr/bin/aws';
const hasAws = existsSync(AWS);
if (!hasAws) console.warn(`[readme-http-api.test] ${AWS} (AWS CLI v2) is absent: ${process.env.REQUIRE_TOOLS === '1' ? 'REQUIRE_TOOLS=1 is set, so this fails' : 'skipping'}.`);

/** The bash blocks that follow a README paragraph starting with `lead`, up to the next paragraph. */
function readmeBlocks(lead: string, count: number): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(lead);
  if (at < 0) throw new Error(`README.md has no paragraph starting "${lead}"`);
  const blocks = [...readme.slice(at).matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, count).map((m) => m[1] ?? '');
  if (blocks.length < count) throw new Error(`README.md has fewer than ${count} sh blocks after "${lead}"`);
  return blocks;
}

let kit: DeployedKit;

describe.skipIf(!hasAws && process.env.REQUIRE_TOOLS !== '1')('the README\'s manual steps for an HTTP API', () => {
  beforeAll(async () => {
    // Steps 1 to 5 under the README's names (long-request-kit-*): the table, roles and functions.
    kit = await deployKit(['--main-delay', '35']);
  }, 120_000);

  afterAll(async () => {
    await kit?.stop();
  });

  it('builds an HTTP API the kit answers through, as copied from the README', async () => {
    expect(hasAws, `${AWS} is missing: install the Debian package awscli`).toBe(true);
    const [api, results] = readmeBlocks('**6, for an HTTP API instead**', 1).concat(readmeBlocks('For the open results route on an HTTP API', 1));
    // Debian's CLI (2.9) predates AWS_ENDPOINT_URL (2.13): a function points it at the stack.
    const script = ['set -euo pipefail', `aws() { ${AWS} --endpoint-url "$KIT_ENDPOINT" "$@"; }`, 'REGION=us-east-1', 'ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)', api, results,
      `echo "routes: $(aws apigatewayv2 get-routes --api-id $API_ID --query 'Items[].RouteKey' --output text)"`].join('\n');
    const { stdout } = await execFileP('bash', ['-c', script], {
      env: {
        // /usr/bin first: a PATH entry may shadow the CLI v2 with an older v1.
        PATH: `/usr/bin:${process.env.PATH ?? '/bin'}`, HOME: path.dirname(kit.stateFile), KIT_ENDPOINT: kit.stack.url,
        AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '',
        AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
      timeout: 120_000,
    });
    const apiId = /https:\/\/([a-z0-9]+)\.execute-api\.us-east-1\.amazonaws\.com\//.exec(stdout)?.[1];
    expect(apiId, `the steps print the API's URL:\n${stdout}`).toMatch(/^[a-z0-9]{10}$/);
    const url = `${kit.stack.url}/_aws/execute-api/${apiId}/`;
    const quick = await follow(`${url}quick?seconds=1`);
    expect(quick.statuses).toEqual([200]);
    expect(JSON.parse(quick.body)).toMatchObject({ path: '/quick', payloadVersion: '2.0', waitedSeconds: 1 });
    // Main takes 35 s: more than HTTP API's 30 s, so the kit answers with a 303 first, to the
    // results route (RESULTS_PATH, set by the second block).
    const long = await follow(`${url}long`);
    expect(long.statuses[0]).toBe(303);
    expect(new URL(long.urls[1] ?? '').pathname).toMatch(new RegExp(`^/_aws/execute-api/${apiId}/_results/[0-9a-f-]{36}$`));
    expect(long.statuses.at(-1)).toBe(200);
    expect(JSON.parse(long.body)).toMatchObject({ path: '/long', payloadVersion: '2.0', waitedSeconds: 35 });
    // The second block added the open results route.
    expect(/^routes: (.*)$/m.exec(stdout)?.[1]?.split('\t').sort()).toEqual(['ANY /', 'ANY /{proxy+}', 'GET /_results/{id}']);
  }, 120_000);
});
