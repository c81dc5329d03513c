import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const home = mkdtempSync(path.join(tmpdir(), 'deploy-dry-run-home-'));

afterAll(() => rmSync(home, { recursive: true, force: true }));

/** An environment with no AWS credentials, no profile and no instance metadata: nothing can be called. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
    FORCE_COLOR: '0',
    ...extra,
  };
}

interface Result { code: number; stdout: string; stderr: string }

async function script(name: 'deploy' | 'destroy', args: string[], env: Record<string, string> = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [tsx, `scripts/${name}.ts`, ...args], { cwd: root, env: bareEnv(env) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function dryRun(...args: string[]): Promise<string> {
  const r = await script('deploy', ['--dry-run', '--region', 'us-east-1', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

function line(output: string, pattern: RegExp): string {
  const found = output.split('\n').filter((l) => pattern.test(l));
  expect(found, `a line matching ${pattern}`).toHaveLength(1);
  return found[0]!;
}

function lines(output: string, pattern: RegExp): string[] {
  return output.split('\n').filter((l) => pattern.test(l));
}

async function bashAccepts(text: string): Promise<void> {
  const file = path.join(home, `script-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(file, text);
  await execFileP('bash', ['-n', file]);
}

describe.concurrent('npm run deploy -- --dry-run', () => {
  it('prints a bash script that bash accepts, and needs no credentials', async () => {
    const out = await dryRun();
    expect(out).toMatch(/^# Dry run: .*Nothing was called\./);
    await bashAccepts(out);
  });

  it('creates the table with a RequestID string key, on demand, and TTL on ExpiresAt', async () => {
    const out = await dryRun();
    const create = line(out, /aws dynamodb create-table/);
    expect(create).toContain('--table-name long-request-kit-tasks');
    expect(create).toContain('--attribute-definitions AttributeName=RequestID,AttributeType=S');
    expect(create).toContain('--key-schema AttributeName=RequestID,KeyType=HASH');
    expect(create).toContain('--billing-mode PAY_PER_REQUEST');
    expect(line(out, /update-time-to-live/)).toContain('Enabled=true,AttributeName=ExpiresAt');
  });

  it('creates each function with the flags of the original README', async () => {
    const out = await dryRun();
    const expected = [
      { name: 'long-request-kit-proxy', zip: 'proxy', timeout: 35, env: ['"DYNAMODB_TABLE_NAME":"long-request-kit-tasks"', '"LAMBDA_TALKER_NAME":"long-request-kit-talker"'] },
      { name: 'long-request-kit-talker', zip: 'talker', timeout: 180, env: ['"DYNAMODB_TABLE_NAME":"long-request-kit-tasks"', '"MAIN_LAMBDA_NAME":"long-request-kit-main"'] },
      { name: 'long-request-kit-main', zip: 'main-example', timeout: 150, env: ['"DELAY_SECONDS":"60"'] },
    ];
    for (const fn of expected) {
      const create = line(out, new RegExp(`aws lambda create-function --function-name ${fn.name} `));
      expect(create).toContain('--handler index.handler');
      expect(create).toContain('--runtime nodejs22.x');
      expect(create).toContain(`--role "arn:aws:iam::\${ACCOUNT_ID}:role/${fn.name}-role"`);
      expect(create).toContain(`--zip-file fileb://./${fn.zip}/dist/deploy.zip`);
      expect(create).toContain('--tracing-config Mode=Active');
      expect(create).toContain(`--timeout ${fn.timeout}`);
      expect(create).toContain('--memory-size 256');
      expect(create).toContain('--architectures x86_64');
      expect(create).toMatch(/--environment '\{"Variables":\{.*\}\}'/);
      for (const v of fn.env) expect(create).toContain(v);
    }
  });

  it('gives Talker zero async retries', async () => {
    const out = await dryRun();
    expect(line(out, /put-function-event-invoke-config/)).toBe(
      'aws lambda put-function-event-invoke-config --function-name long-request-kit-talker --maximum-retry-attempts 0',
    );
  });

  it('creates one role per function with least-privilege inline policies and the managed log and X-Ray policies', async () => {
    const out = await dryRun();
    expect(lines(out, /aws iam create-role/)).toHaveLength(3);
    expect(lines(out, /attach-role-policy .*AWSLambdaBasicExecutionRole/)).toHaveLength(3);
    expect(lines(out, /attach-role-policy .*AWSXRayDaemonWriteAccess/)).toHaveLength(3);
    const proxy = line(out, /put-role-policy --role-name long-request-kit-proxy-role/);
    expect(proxy).toContain('dynamodb:PutItem');
    expect(proxy).toContain('table/long-request-kit-tasks');
    expect(proxy).toContain('function:long-request-kit-talker');
    expect(proxy).not.toContain('function:long-request-kit-main');
    expect(proxy).not.toMatch(/"Resource\\?":\\?"\*/);
    const talker = line(out, /put-role-policy --role-name long-request-kit-talker-role/);
    expect(talker).toContain('function:long-request-kit-main');
    expect(lines(out, /put-role-policy --role-name long-request-kit-main-role/)).toHaveLength(0);
  });

  it('builds the REST API: / and /{proxy+} ANY to the Proxy through AWS_PROXY, a permission, a deployment', async () => {
    const out = await dryRun();
    expect(line(out, /create-rest-api/)).toContain('--name long-request-kit-api');
    expect(line(out, /create-resource/)).toContain("--path-part '{proxy+}'");
    expect(lines(out, /put-method .*--http-method ANY --authorization-type NONE/)).toHaveLength(2);
    const integrations = lines(out, /put-integration/);
    expect(integrations).toHaveLength(2);
    for (const i of integrations) {
      expect(i).toContain('--type AWS_PROXY --integration-http-method POST');
      expect(i).toContain('function:long-request-kit-proxy/invocations');
    }
    const permission = line(out, /aws lambda add-permission/);
    expect(permission).toContain('--function-name long-request-kit-proxy');
    expect(permission).toContain('--principal apigateway.amazonaws.com');
    expect(permission).toContain('--source-arn "arn:aws:execute-api:us-east-1:${ACCOUNT_ID}:${API_ID}/*"');
    expect(line(out, /create-deployment/)).toContain('--stage-name dev');
    expect(line(out, /Invoke URL/)).toContain('https://${API_ID}.execute-api.us-east-1.amazonaws.com/dev/');
  });

  it('creates the REST API with --binary-media-types, and with none by default', async () => {
    expect(line(await dryRun(), /create-rest-api/)).not.toContain('--binary-media-types');
    const out = await dryRun('--binary-media-types', 'image/png,application/*');
    expect(line(out, /create-rest-api/)).toContain("--binary-media-types image/png 'application/*' --query id");
    await bashAccepts(out);
  });

  it('streams with --transfer-mode stream: the streaming handler and URI, STREAM, 900 s, the Proxy\'s timeout and bound; the direct route stays buffered', async () => {
    const out = await dryRun('--transfer-mode', 'stream', '--direct-route', '--endpoint-type', 'EDGE');
    expect(line(out, /create-rest-api/)).toContain('--endpoint-configuration types=EDGE');
    const proxy = line(out, /create-function --function-name long-request-kit-proxy/);
    expect(proxy).toContain('--handler index.streamHandler');
    // Edge streams go idle after 30 s: the Proxy's answer limit, plus 6 s.
    expect(proxy).toContain('--timeout 36');
    expect(proxy).toContain('"GATEWAY_TIMEOUT_MS":"900000"');
    expect(proxy).toContain('"ENDPOINT_TYPE":"EDGE"');
    const integrations = lines(out, /put-integration/);
    expect(integrations).toHaveLength(4);
    const toProxy = integrations.filter((i) => i.includes('long-request-kit-proxy'));
    expect(toProxy).toHaveLength(2);
    for (const i of toProxy) {
      expect(i).toContain('path/2021-11-15/functions/arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:long-request-kit-proxy/response-streaming-invocations');
      expect(i).toContain('--response-transfer-mode STREAM --timeout-in-millis 900000');
    }
    for (const i of integrations.filter((x) => x.includes('long-request-kit-main'))) {
      expect(i).toContain('path/2015-03-31/functions/');
      expect(i).not.toContain('--response-transfer-mode');
    }
    const buffered = await dryRun('--integration-timeout-ms', '120000');
    expect(line(buffered, /create-function --function-name long-request-kit-proxy/)).toContain('--timeout 126');
    expect(line(buffered, /create-function --function-name long-request-kit-proxy/)).toContain('--handler index.handler');
    for (const i of lines(buffered, /put-integration/)) expect(i).toMatch(/invocations" --timeout-in-millis 120000$/);
  });

  it('follows the naming, size and stage flags', async () => {
    const out = await dryRun('--name-prefix', 'demo', '--stage', 'prod', '--proxy-timeout', '40', '--talker-timeout', '300', '--main-timeout', '200', '--memory', '512', '--architecture', 'arm64', '--main-delay', '5');
    expect(line(out, /create-table/)).toContain('--table-name demo-tasks');
    const proxy = line(out, /create-function --function-name demo-proxy /);
    expect(proxy).toContain('--timeout 40');
    expect(proxy).toContain('--memory-size 512');
    expect(proxy).toContain('--architectures arm64');
    expect(proxy).toContain('"LAMBDA_TALKER_NAME":"demo-talker"');
    expect(line(out, /create-function --function-name demo-talker /)).toContain('--timeout 300');
    const main = line(out, /create-function --function-name demo-main /);
    expect(main).toContain('--timeout 200');
    expect(main).toContain('"DELAY_SECONDS":"5"');
    expect(line(out, /create-deployment/)).toContain('--stage-name prod');
  });

  it('passes Proxy and Talker settings from flags, and never prints a secret', async () => {
    const out = await dryRun('--api-key', 'k3y-VALUE', '--signing-secret', 'sign-VALUE-of-at-least-32-characters', '--wait-seconds', '20', '--cors-origin', 'https://app.example', '--proxy-env', 'POLL_MAX_MS=500', '--talker-env', 'COMPRESS_ABOVE_BYTES=1000', '--set-stage-name');
    expect(out).not.toContain('k3y-VALUE');
    expect(out).not.toContain('sign-VALUE');
    const proxy = line(out, /create-function --function-name long-request-kit-proxy /);
    for (const v of ['"API_KEY":"***"', '"SIGNING_SECRET":"***"', '"WAIT_SECONDS":"20"', '"CORS_ALLOW_ORIGIN":"https://app.example"', '"POLL_MAX_MS":"500"', '"STAGE_NAME":"dev"']) {
      expect(proxy).toContain(v);
    }
    expect(line(out, /create-function --function-name long-request-kit-talker /)).toContain('"COMPRESS_ABOVE_BYTES":"1000"');
    await bashAccepts(out);
  });

  it('uses an existing Main with --main-name: no Main function or role, Talker invokes that one', async () => {
    const out = await dryRun('--main-name', 'my-existing-main');
    expect(lines(out, /create-function --function-name long-request-kit-main /)).toHaveLength(0);
    expect(lines(out, /create-role --role-name long-request-kit-main-role/)).toHaveLength(0);
    expect(line(out, /create-function --function-name long-request-kit-talker /)).toContain('"MAIN_LAMBDA_NAME":"my-existing-main"');
    expect(line(out, /put-role-policy --role-name long-request-kit-talker-role/)).toContain('function:my-existing-main');
  });

  it('uses given roles instead of creating them', async () => {
    const arn = 'arn:aws:iam::123456789012:role/my-proxy-role';
    const out = await dryRun('--proxy-role', arn);
    expect(lines(out, /create-role --role-name long-request-kit-proxy-role/)).toHaveLength(0);
    expect(line(out, /create-function --function-name long-request-kit-proxy /)).toContain(`--role ${arn}`);
  });

  it('adds /direct and /direct/{proxy+} to Main itself with --direct-route', async () => {
    const out = await dryRun('--direct-route');
    expect(line(out, /--path-part direct /)).toContain('create-resource');
    const integrations = lines(out, /put-integration/);
    expect(integrations).toHaveLength(4);
    expect(integrations.filter((i) => i.includes('function:long-request-kit-main/invocations'))).toHaveLength(2);
    expect(line(out, /add-permission --function-name long-request-kit-main /)).toContain('--principal apigateway.amazonaws.com');
    expect(line(out, /Direct URL/)).toContain('/dev/direct');
  });

  it('adds an open GET <path>/{id} route to the Proxy and sets RESULTS_PATH with --results-path', async () => {
    const out = await dryRun('--results-path', '/_results');
    expect(line(out, /create-function --function-name long-request-kit-proxy /)).toContain('"RESULTS_PATH":"/_results"');
    expect(line(out, /--path-part _results /)).toMatch(/^RESULTS_PARENT_ID=\$\(aws apigateway create-resource .*--parent-id "\$\{ROOT_ID\}"/);
    expect(line(out, /--path-part '\{id\}'/)).toMatch(/^RESULTS_ID=.*--parent-id "\$\{RESULTS_PARENT_ID\}"/);
    expect(line(out, /put-method .*"\$\{RESULTS_ID\}"/)).toContain('--http-method GET --authorization-type NONE --no-api-key-required');
    expect(line(out, /put-integration .*"\$\{RESULTS_ID\}"/)).toContain('function:long-request-kit-proxy/invocations');
    expect(line(out, /Results route/)).toContain('/dev/_results/{id}');
    await bashAccepts(out);
  });

  it('targets a local endpoint with --endpoint, and prints the LocalStack-shaped invoke URL', async () => {
    const out = await dryRun('--endpoint', 'http://localhost:4566');
    expect(out).toContain('export AWS_ENDPOINT_URL=http://localhost:4566');
    expect(line(out, /Invoke URL/)).toContain('http://localhost:4566/_aws/execute-api/${API_ID}/dev/');
  });

  it('reads the endpoint from AWS_ENDPOINT_URL too', async () => {
    const r = await script('deploy', ['--dry-run'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('export AWS_REGION=us-east-1');
    expect(r.stdout).toContain('http://127.0.0.1:4566/_aws/execute-api/');
  });

  it('asks the CLI for the region when none is given', async () => {
    const r = await script('deploy', ['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('REGION="${AWS_REGION:-$(aws configure get region)}"');
    expect(line(r.stdout, /add-permission/)).toContain('arn:aws:execute-api:${REGION}:');
  });

  it('prints usage with --help', async () => {
    const r = await script('deploy', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run deploy/);
    expect(r.stdout).toContain('--direct-route');
  });

  it.each([
    [['--memory', '12'], /--memory must be a whole number from 128 to 10240/],
    [['--architecture', 'sparc'], /--architecture must be x86_64 or arm64/],
    [['--proxy-timeout', '901'], /--proxy-timeout/],
    [['--bogus'], /unknown flag --bogus/],
    [['--proxy-env', 'NOVALUE'], /KEY=VALUE/],
    [['--proxy-env', 'AWS_REGION=x'], /reserved by Lambda/],
    [['--proxy-env', 'DYNAMODB_TABLE_NAME=x'], /set by deploy itself/],
    [['--wait-seconds', '40'], /--wait-seconds \(the Proxy's WAIT_SECONDS\) must be a number from 0 to 27 \(GATEWAY_TIMEOUT_MS less SAFETY_MARGIN_MS\), got "40"/],
    [['--wait-seconds', '100', '--integration-timeout-ms', '60000'], /from 0 to 58 /],
    [['--signing-secret', 'short'], /--signing-secret \(the Proxy's SIGNING_SECRET\) must be at least 32 characters long/],
    [['--proxy-env', 'SAFETY_MARGIN_MS=5000', '--integration-timeout-ms', '4000'], /--proxy-env SAFETY_MARGIN_MS \(the Proxy's SAFETY_MARGIN_MS\) must be below the time the Proxy may take to answer \(4000 ms\), got 5000/],
    [['--integration-timeout-ms', '500'], /--integration-timeout-ms must be a whole number from 3000 to 300000/],
    [['--endpoint-type', 'EDGE', '--integration-timeout-ms', '60000'], /quota increase, which AWS grants to Regional and private REST APIs/],
    [['--transfer-mode', 'fast'], /--transfer-mode must be one of buffered, stream, got "fast"/],
    [['--integration-timeout-ms', '300001'], /--integration-timeout-ms must be a whole number from 3000 to 300000/],
    [['--transfer-mode', 'stream', '--integration-timeout-ms', '900001'], /--integration-timeout-ms must be a whole number from 3000 to 900000/],
    [['--endpoint-type', 'GLOBAL'], /--endpoint-type must be one of REGIONAL, EDGE, PRIVATE/],
    [['--transfer-mode', 'stream', '--endpoint-type', 'edge', '--wait-seconds', '29'], /from 0 to 28 \(the answer limit 30000 ms less SAFETY_MARGIN_MS\), got "29" \(stream mode\)/],
    [['--proxy-env', 'GATEWAY_TIMEOUT_MS=60000'], /GATEWAY_TIMEOUT_MS is set by deploy itself \(use --integration-timeout-ms\)/],
    [['--proxy-env', 'ENDPOINT_TYPE=EDGE'], /ENDPOINT_TYPE is set by deploy itself \(use --endpoint-type\)/],
    [['--proxy-role', 'not-an-arn'], /IAM role ARN/],
    [['--endpoint', 'nowhere'], /--endpoint must be a URL/],
    [['--name-prefix', 'bad prefix!'], /--name-prefix/],
    [['--main-name', 'x', '--main-delay', '5'], /--main-delay applies to main-example only/],
    [['--results-path', '_results'], /--results-path must be a path like \/_results/],
    [['--results-path', '/{id}'], /--results-path must be a path like \/_results/],
    [['--results-path', '/direct/r', '--direct-route'], /would fall under --direct-route's \/direct/],
    [['--proxy-env', 'RESULTS_PATH=/r'], /set by deploy itself \(use --results-path\)/],
    [['--api-type', 'graphql'], /--api-type must be one of rest, http, got "graphql"/],
    [['--api-type', 'http', '--transfer-mode', 'stream'], /--transfer-mode stream needs a REST API: HTTP APIs have no response streaming \(use --api-type rest\)/],
    [['--api-type', 'http', '--endpoint-type', 'EDGE'], /--endpoint-type EDGE applies to REST APIs only: HTTP APIs are regional/],
    [['--api-type', 'http', '--endpoint-type', 'private'], /--endpoint-type PRIVATE applies to REST APIs only/],
    [['--api-type', 'http', '--integration-timeout-ms', '30001'], /--integration-timeout-ms 30001: HTTP APIs cut every integration off after 30000 ms at most, and that cannot be raised/],
    [['--api-type', 'http', '--integration-timeout-ms', '120000'], /after 30000 ms at most/],
    [['--api-type', 'http', '--integration-timeout-ms', '500'], /--integration-timeout-ms must be a whole number from 3000 to 30000,/],
    [['--api-type', 'http', '--set-stage-name'], /--set-stage-name: an HTTP API's \$default stage has no name in its URL/],
    [['--api-type', 'http', '--wait-seconds', '29'], /from 0 to 28 \(GATEWAY_TIMEOUT_MS less SAFETY_MARGIN_MS\), got "29"/],
    [['--api-type', 'http', '--stage', 'bad stage'], /--stage must hold only letters, digits, - and _/],
  ])('refuses %j with one readable line and exit code 1', async (args, message) => {
    const r = await script('deploy', ['--dry-run', ...args]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^deploy: /);
    expect(r.stderr).toMatch(message);
  });

  it('says in one line that there are no credentials on real AWS, without calling anything', async () => {
    const r = await script('deploy', ['--region', 'us-east-1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^deploy: no usable AWS credentials/);
  });

  it('says in one line that a region is needed on real AWS', async () => {
    const r = await script('deploy', []);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^deploy: no AWS region/);
  });
});

describe.concurrent('npm run deploy -- --dry-run --api-type http', () => {
  it('builds the HTTP API with apigatewayv2: AWS_PROXY integration with payload 2.0 and 30 s, ANY / and ANY /{proxy+}, a permission, the $default stage with auto-deploy', async () => {
    const out = await dryRun('--api-type', 'http');
    await bashAccepts(out);
    expect(lines(out, /aws apigateway /)).toHaveLength(0);
    expect(line(out, /create-api/)).toBe('API_ID=$(aws apigatewayv2 create-api --name long-request-kit-api --protocol-type HTTP --query ApiId --output text)');
    expect(line(out, /create-integration/)).toBe(
      'PROXY_INTEGRATION_ID=$(aws apigatewayv2 create-integration --api-id "${API_ID}" --integration-type AWS_PROXY'
      + ' --integration-uri "arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:long-request-kit-proxy" --payload-format-version 2.0'
      + ' --timeout-in-millis 30000 --query IntegrationId --output text)');
    expect(lines(out, /create-route/)).toEqual([
      `aws apigatewayv2 create-route --api-id "\${API_ID}" --route-key 'ANY /' --target "integrations/\${PROXY_INTEGRATION_ID}"`,
      `aws apigatewayv2 create-route --api-id "\${API_ID}" --route-key 'ANY /{proxy+}' --target "integrations/\${PROXY_INTEGRATION_ID}"`,
    ]);
    const permission = line(out, /aws lambda add-permission/);
    expect(permission).toContain('--function-name long-request-kit-proxy');
    expect(permission).toContain('--statement-id "apigateway-${API_ID}"');
    expect(permission).toContain('--source-arn "arn:aws:execute-api:us-east-1:${ACCOUNT_ID}:${API_ID}/*"');
    expect(line(out, /create-stage/)).toBe(`aws apigatewayv2 create-stage --api-id "\${API_ID}" --stage-name '$default' --auto-deploy`);
    // the stage comes after the routes and the permission: auto-deploy publishes them at once
    expect(out.indexOf('create-stage')).toBeGreaterThan(out.indexOf('add-permission'));
    expect(line(out, /Invoke URL/)).toBe('echo "Invoke URL: https://${API_ID}.execute-api.us-east-1.amazonaws.com/"');
  });

  it('gives the Proxy GATEWAY_TIMEOUT_MS 30000 and a 36 s timeout by default, and the given integration timeout up to 30000', async () => {
    const out = await dryRun('--api-type', 'http');
    const proxy = line(out, /create-function --function-name long-request-kit-proxy/);
    expect(proxy).toContain('"GATEWAY_TIMEOUT_MS":"30000"');
    expect(proxy).toContain('--timeout 36');
    expect(proxy).toContain('--handler index.handler');
    expect(proxy).not.toContain('ENDPOINT_TYPE');
    const shorter = await dryRun('--api-type', 'http', '--integration-timeout-ms', '20000', '--endpoint-type', 'regional');
    expect(line(shorter, /create-integration/)).toContain('--timeout-in-millis 20000');
    expect(line(shorter, /create-function --function-name long-request-kit-proxy/)).toContain('"GATEWAY_TIMEOUT_MS":"20000"');
  });

  it('adds ANY /direct and ANY /direct/{proxy+} to Main (30 s) with --direct-route, and GET <path>/{id} with --results-path', async () => {
    const out = await dryRun('--api-type', 'http', '--direct-route', '--results-path', '/_results');
    await bashAccepts(out);
    const main = line(out, /^MAIN_INTEGRATION_ID=/);
    expect(main).toContain('--integration-uri "arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:long-request-kit-main" --payload-format-version 2.0 --timeout-in-millis 30000');
    expect(lines(out, /create-route/).map((l) => /--route-key '([^']+)' --target "integrations\/\$\{([A-Z_]+)\}"/.exec(l)?.slice(1))).toEqual([
      ['ANY /', 'PROXY_INTEGRATION_ID'],
      ['ANY /{proxy+}', 'PROXY_INTEGRATION_ID'],
      ['ANY /direct', 'MAIN_INTEGRATION_ID'],
      ['ANY /direct/{proxy+}', 'MAIN_INTEGRATION_ID'],
      ['GET /_results/{id}', 'PROXY_INTEGRATION_ID'],
    ]);
    expect(line(out, /add-permission --function-name long-request-kit-main /)).toContain('--source-arn "arn:aws:execute-api:us-east-1:${ACCOUNT_ID}:${API_ID}/*"');
    expect(line(out, /create-function --function-name long-request-kit-proxy/)).toContain('"RESULTS_PATH":"/_results"');
    expect(line(out, /Direct URL/)).toContain('amazonaws.com/direct"');
    expect(line(out, /Results route/)).toContain('amazonaws.com/_results/{id}"');
  });

  it('uses a named stage with auto-deploy when --stage is given, and serves it under /NAME/', async () => {
    const out = await dryRun('--api-type', 'http', '--stage', 'prod', '--set-stage-name');
    expect(line(out, /create-stage/)).toBe('aws apigatewayv2 create-stage --api-id "${API_ID}" --stage-name prod --auto-deploy');
    expect(line(out, /Invoke URL/)).toContain('amazonaws.com/prod/"');
    expect(line(out, /create-function --function-name long-request-kit-proxy/)).toContain('"STAGE_NAME":"prod"');
  });

  it('prints the local invoke URL shape of an HTTP API on an endpoint', async () => {
    const out = await dryRun('--api-type', 'http', '--endpoint', 'http://localhost:4566');
    expect(line(out, /Invoke URL/)).toBe('echo "Invoke URL: http://localhost:4566/_aws/execute-api/${API_ID}/"');
  });

  it('leaves the REST output as it was with --api-type rest', async () => {
    expect(await dryRun('--api-type', 'rest', '--direct-route')).toBe(await dryRun('--direct-route'));
  });

  it('names --api-type in the usage', async () => {
    const r = await script('deploy', ['--help']);
    expect(r.stdout).toMatch(/--api-type TYPE\s+rest \(default/);
  });
});

describe.concurrent('npm run destroy -- --dry-run', () => {
  it('deletes the HTTP API with --api-type http, or when the state file says http', async () => {
    const r = await script('destroy', ['--dry-run', '--region', 'us-east-1', '--api-type', 'http', '--main-name', 'theirs']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout, /aws apigateway /)).toHaveLength(0);
    expect(line(r.stdout, /get-apis/)).toMatch(/^API_ID=\$\(aws apigatewayv2 get-apis --query .*long-request-kit-api.*ProtocolType.*HTTP.*\.ApiId \| \[0\]' --output text\)$/);
    expect(line(r.stdout, /delete-api/)).toBe('aws apigatewayv2 delete-api --api-id "${API_ID}"');
    expect(line(r.stdout, /remove-permission/)).toContain('--function-name theirs --statement-id "apigateway-${API_ID}"');
    await bashAccepts(r.stdout);

    const stateFile = path.join(home, `state-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(stateFile, JSON.stringify({ namePrefix: 'long-request-kit', endpoint: null, apiType: 'http', apiId: 'abc' }));
    const byState = await script('destroy', ['--dry-run', '--region', 'us-east-1', '--state-file', stateFile]);
    expect(lines(byState.stdout, /aws apigatewayv2 delete-api/)).toHaveLength(1);
    // another deployment's state file does not count
    const other = await script('destroy', ['--dry-run', '--region', 'us-east-1', '--state-file', stateFile, '--name-prefix', 'other']);
    expect(lines(other.stdout, /aws apigateway delete-rest-api/)).toHaveLength(1);
    expect(lines(other.stdout, /apigatewayv2/)).toHaveLength(0);
  });

  it('refuses an unknown --api-type', async () => {
    const r = await script('destroy', ['--dry-run', '--api-type', 'ws']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('destroy: --api-type must be one of rest, http, got "ws"');
  });

  it('prints the delete commands for everything deploy creates, and bash accepts them', async () => {
    const r = await script('destroy', ['--dry-run', '--region', 'us-east-1']);
    expect(r.code).toBe(0);
    for (const pattern of [
      /aws apigateway delete-rest-api/,
      /aws lambda delete-function --function-name long-request-kit-proxy$/,
      /aws lambda delete-function --function-name long-request-kit-talker$/,
      /aws lambda delete-function --function-name long-request-kit-main$/,
      /delete-function-event-invoke-config --function-name long-request-kit-talker/,
      /aws iam delete-role --role-name long-request-kit-proxy-role/,
      /aws iam delete-role --role-name long-request-kit-main-role/,
      /aws dynamodb delete-table --table-name long-request-kit-tasks/,
    ]) {
      expect(lines(r.stdout, pattern), String(pattern)).toHaveLength(1);
    }
    await bashAccepts(r.stdout);
  });

  it('keeps the table with --keep-table and an existing Main with --main-name', async () => {
    const r = await script('destroy', ['--dry-run', '--region', 'us-east-1', '--keep-table', '--main-name', 'theirs']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout, /delete-table/)).toHaveLength(0);
    expect(lines(r.stdout, /delete-function --function-name (long-request-kit-main|theirs)/)).toHaveLength(0);
    expect(lines(r.stdout, /delete-role --role-name long-request-kit-main-role/)).toHaveLength(0);
  });

  it('prints usage with --help and refuses unknown flags', async () => {
    expect((await script('destroy', ['--help'])).stdout).toMatch(/^Usage: npm run destroy/);
    const r = await script('destroy', ['--stage', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('destroy: unknown flag --stage (see --help)');
  });
});
