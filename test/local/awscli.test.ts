// Conformance of the local stack with an independent client: the AWS CLI v2
// (Debian package `awscli`, /usr/bin/aws). Skipped with a printed reason when
// absent; with REQUIRE_TOOLS=1 a missing CLI fails instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../local/server';
import { startQuietStack, zipOf } from './helpers';

const AWS = '/usr/bin/aws';
const hasAws = existsSync(AWS);
const requireTools = process.env.REQUIRE_TOOLS === '1';
if (!hasAws) {
  console.warn(`[awscli.test] ${AWS} (AWS CLI v2, Debian package awscli) is absent: ` +
    (requireTools ? 'REQUIRE_TOOLS=1 is set, so this fails.' : 'skipping the AWS CLI conformance tests.'));
}

let stack: LocalStack;
let work: string;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function aws(...args: string[]): Promise<CliResult> {
  return awsWith({}, ...args);
}

function awsWith(extraEnv: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(AWS, ['--endpoint-url', stack.url, '--region', 'us-east-1', '--output', 'json', ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
        AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '', AWS_CONFIG_FILE: join(work, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'),
        ...extraEnv,
      },
      timeout: 60_000,
    }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function awsJson(...args: string[]): Promise<Record<string, unknown>> {
  const r = await aws(...args);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
}

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('AWS CLI v2 against the local stack', { timeout: 90_000 }, () => {
  if (!hasAws && requireTools) {
    it('needs the AWS CLI v2 at /usr/bin/aws (REQUIRE_TOOLS=1)', () => {
      throw new Error(`${AWS} is missing: install the Debian package awscli`);
    });
  }

  beforeAll(async () => {
    if (!hasAws) return;
    // Creations and updates take 300 ms, as they take a moment on AWS: the CLI's waiters wait.
    ({ stack } = await startQuietStack({ lambdaStateDelayMs: 300 }));
    work = mkdtempSync(join(tmpdir(), 'awscli-test-'));
  });

  afterAll(async () => {
    await stack?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // Each case below is skipped (reason printed at the top) only without /usr/bin/aws; with
  // REQUIRE_TOOLS=1, as in CI, which installs awscli, the missing CLI fails instead.
  it.skipIf(!hasAws)('sts and iam', async () => {
    expect(await awsJson('sts', 'get-caller-identity')).toMatchObject({ Account: '000000000000' });
    const role = await awsJson('iam', 'create-role', '--role-name', 'kit-proxy', '--assume-role-policy-document', TRUST);
    expect(role.Role).toMatchObject({ RoleName: 'kit-proxy', Arn: 'arn:aws:iam::000000000000:role/kit-proxy' });
    const got = await awsJson('iam', 'get-role', '--role-name', 'kit-proxy');
    // The CLI decodes the URL-encoded policy document, as with AWS.
    expect((got.Role as Record<string, unknown>).AssumeRolePolicyDocument).toEqual(JSON.parse(TRUST));
    await awsJson('iam', 'put-role-policy', '--role-name', 'kit-proxy', '--policy-name', 'p', '--policy-document', TRUST);
    await awsJson('iam', 'attach-role-policy', '--role-name', 'kit-proxy', '--policy-arn', 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole');
    const missing = await aws('iam', 'get-role', '--role-name', 'nobody');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('NoSuchEntity');
  });

  it.skipIf(!hasAws)('dynamodb', async () => {
    const created = await awsJson('dynamodb', 'create-table', '--table-name', 'tasks',
      '--attribute-definitions', 'AttributeName=RequestID,AttributeType=S', '--key-schema', 'AttributeName=RequestID,KeyType=HASH',
      '--billing-mode', 'PAY_PER_REQUEST');
    expect((created.TableDescription as Record<string, unknown>).TableName).toBe('tasks');
    const ttl = await awsJson('dynamodb', 'update-time-to-live', '--table-name', 'tasks',
      '--time-to-live-specification', 'Enabled=true,AttributeName=ExpiresAt');
    expect(ttl.TimeToLiveSpecification).toEqual({ Enabled: true, AttributeName: 'ExpiresAt' });
    await awsJson('dynamodb', 'put-item', '--table-name', 'tasks', '--item', '{"RequestID":{"S":"r1"},"Status":{"S":"PENDING"}}');
    const item = await awsJson('dynamodb', 'get-item', '--table-name', 'tasks', '--key', '{"RequestID":{"S":"r1"}}');
    expect(item.Item).toEqual({ RequestID: { S: 'r1' }, Status: { S: 'PENDING' } });
  });

  it.skipIf(!hasAws)('lambda control plane and invoke', async () => {
    const zipPath = join(work, 'fn.zip');
    writeFileSync(zipPath, zipOf({ 'index.js': 'exports.handler = async (e) => { if (e.fail) throw new Error("nope"); return { got: e }; };' }));
    const created = await awsJson('lambda', 'create-function', '--function-name', 'cli-fn', '--runtime', 'nodejs20.x',
      '--role', 'arn:aws:iam::000000000000:role/kit-proxy', '--handler', 'index.handler', '--zip-file', `fileb://${zipPath}`,
      '--timeout', '5', '--memory-size', '256', '--tracing-config', 'Mode=Active', '--environment', 'Variables={STAGE_NAME=dev}');
    // CreateFunction answers Pending, as on AWS; the waiter below sees it Active.
    expect(created).toMatchObject({ FunctionName: 'cli-fn', State: 'Pending', Timeout: 5, MemorySize: 256, TracingConfig: { Mode: 'Active' } });
    expect((await aws('lambda', 'wait', 'function-active-v2', '--function-name', 'cli-fn')).code).toBe(0);
    const fn = await awsJson('lambda', 'get-function', '--function-name', 'cli-fn');
    expect((fn.Configuration as Record<string, unknown>).CodeSha256).toBe(created.CodeSha256);
    await awsJson('lambda', 'update-function-configuration', '--function-name', 'cli-fn', '--timeout', '6');
    expect((await aws('lambda', 'wait', 'function-updated-v2', '--function-name', 'cli-fn')).code).toBe(0);
    await awsJson('lambda', 'update-function-code', '--function-name', 'cli-fn', '--zip-file', `fileb://${zipPath}`);
    expect((await aws('lambda', 'wait', 'function-updated-v2', '--function-name', 'cli-fn')).code).toBe(0);
    expect(await awsJson('lambda', 'put-function-event-invoke-config', '--function-name', 'cli-fn', '--maximum-retry-attempts', '0'))
      .toMatchObject({ MaximumRetryAttempts: 0 });
    expect(await awsJson('lambda', 'get-function-event-invoke-config', '--function-name', 'cli-fn')).toMatchObject({ MaximumRetryAttempts: 0 });
    const perm = await awsJson('lambda', 'add-permission', '--function-name', 'cli-fn', '--statement-id', 'apigw',
      '--action', 'lambda:InvokeFunction', '--principal', 'apigateway.amazonaws.com');
    expect(JSON.parse(String(perm.Statement))).toMatchObject({ Sid: 'apigw' });

    const out = join(work, 'out.json');
    const sync = await awsJson('lambda', 'invoke', '--function-name', 'cli-fn', '--cli-binary-format', 'raw-in-base64-out',
      '--payload', '{"a":1}', '--log-type', 'Tail', out);
    expect(sync).toMatchObject({ StatusCode: 200, ExecutedVersion: '$LATEST' });
    expect(Buffer.from(String(sync.LogResult), 'base64').toString()).toContain('REPORT RequestId');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ got: { a: 1 } });
    const failed = await awsJson('lambda', 'invoke', '--function-name', 'cli-fn', '--cli-binary-format', 'raw-in-base64-out',
      '--payload', '{"fail":true}', out);
    expect(failed).toMatchObject({ StatusCode: 200, FunctionError: 'Unhandled' });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ errorType: 'Error', errorMessage: 'nope' });
    const event = await awsJson('lambda', 'invoke', '--function-name', 'cli-fn', '--invocation-type', 'Event',
      '--cli-binary-format', 'raw-in-base64-out', '--payload', '{}', out);
    expect(event).toMatchObject({ StatusCode: 202 });
    const missing = await aws('lambda', 'get-function', '--function-name', 'nope');
    expect(missing.stderr).toContain('ResourceNotFoundException');
  });

  it.skipIf(!hasAws)('apigateway', async () => {
    const api = await awsJson('apigateway', 'create-rest-api', '--name', 'cli-api');
    const apiId = String(api.id);
    const resources = await awsJson('apigateway', 'get-resources', '--rest-api-id', apiId);
    const rootId = String((resources.items as { id: string }[])[0]?.id);
    const proxy = await awsJson('apigateway', 'create-resource', '--rest-api-id', apiId, '--parent-id', rootId, '--path-part', '{proxy+}');
    await awsJson('apigateway', 'put-method', '--rest-api-id', apiId, '--resource-id', String(proxy.id), '--http-method', 'ANY',
      '--authorization-type', 'NONE');
    await awsJson('apigateway', 'put-integration', '--rest-api-id', apiId, '--resource-id', String(proxy.id), '--http-method', 'ANY',
      '--type', 'AWS_PROXY', '--integration-http-method', 'POST',
      '--uri', 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:cli-fn/invocations');
    const deployment = await awsJson('apigateway', 'create-deployment', '--rest-api-id', apiId, '--stage-name', 'dev');
    expect(String(deployment.id)).toMatch(/^[a-z0-9]+$/);
    const apis = await awsJson('apigateway', 'get-rest-apis');
    expect((apis.items as { id: string; name: string }[]).map((a) => a.name)).toContain('cli-api');
    const res = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/anything`);
    // cli-fn answers { got: event }: no statusCode, so API Gateway answers 502.
    expect(res.status).toBe(502);
  });

  it.skipIf(!hasAws)('apigatewayv2: an HTTP API with a Lambda proxy integration, routes and the $default stage', async () => {
    const api = await awsJson('apigatewayv2', 'create-api', '--name', 'cli-http', '--protocol-type', 'HTTP');
    const apiId = String(api.ApiId);
    expect(api).toMatchObject({ Name: 'cli-http', ProtocolType: 'HTTP', RouteSelectionExpression: '$request.method $request.path' });
    const fn = 'arn:aws:lambda:us-east-1:000000000000:function:cli-fn';
    const integration = await awsJson('apigatewayv2', 'create-integration', '--api-id', apiId, '--integration-type', 'AWS_PROXY',
      '--integration-uri', fn, '--payload-format-version', '2.0', '--timeout-in-millis', '30000');
    expect(integration).toMatchObject({ IntegrationType: 'AWS_PROXY', IntegrationUri: fn, PayloadFormatVersion: '2.0', TimeoutInMillis: 30000 });
    const target = `integrations/${String(integration.IntegrationId)}`;
    for (const key of ['ANY /', 'ANY /{proxy+}']) {
      expect(await awsJson('apigatewayv2', 'create-route', '--api-id', apiId, '--route-key', key, '--target', target)).toMatchObject({ RouteKey: key, Target: target });
    }
    // The CLI sends $default as %24default in GetStage's path.
    expect(await awsJson('apigatewayv2', 'create-stage', '--api-id', apiId, '--stage-name', '$default', '--auto-deploy')).toMatchObject({ StageName: '$default', AutoDeploy: true });
    expect(await awsJson('apigatewayv2', 'get-stage', '--api-id', apiId, '--stage-name', '$default')).toMatchObject({ StageName: '$default', AutoDeploy: true });
    const routes = await awsJson('apigatewayv2', 'get-routes', '--api-id', apiId);
    expect((routes.Items as { RouteKey: string }[]).map((r) => r.RouteKey).sort()).toEqual(['ANY /', 'ANY /{proxy+}']);
    const listed = await awsJson('apigatewayv2', 'get-apis');
    expect((listed.Items as { Name: string }[]).map((a) => a.Name)).toContain('cli-http');
    const refused = await aws('apigatewayv2', 'create-integration', '--api-id', apiId, '--integration-type', 'AWS_PROXY', '--integration-uri', fn,
      '--payload-format-version', '2.0', '--timeout-in-millis', '30001');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('BadRequestException');
    // cli-fn answers { got: event }: valid JSON without statusCode, so HTTP API answers 200 with it.
    const res = await fetch(`${stack.url}/_aws/execute-api/${apiId}/anything?x=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ got: { version: '2.0', rawPath: '/anything', rawQueryString: 'x=1', routeKey: 'ANY /{proxy+}' } });
    expect((await aws('apigatewayv2', 'delete-api', '--api-id', apiId)).code).toBe(0);
    const gone = await aws('apigatewayv2', 'get-api', '--api-id', apiId);
    expect(gone.stderr).toContain('NotFoundException');
  });

  // Debian's CLI (2.9) predates responseTransferMode (CLI 2.32.0). AWS_DATA_PATH gives it the
  // installed API Gateway model plus the member AWS documents (responseTransferMode:
  // BUFFERED | STREAM on PutIntegration's input and on Integration), so that the CLI builds and
  // reads the calls as a current CLI does.
  it.skipIf(!hasAws)('apigateway put-integration --response-transfer-mode STREAM, get-integration, update-integration', async () => {
    const installed = CLI_MODELS.find((dir) => existsSync(join(dir, 'apigateway', '2015-07-09', 'service-2.json')));
    if (!installed) throw new Error(`the CLI's API Gateway model is not under ${CLI_MODELS.join(' or ')}`);
    const model = JSON.parse(readFileSync(join(installed, 'apigateway', '2015-07-09', 'service-2.json'), 'utf8')) as {
      shapes: Record<string, { type?: string; enum?: string[]; members?: Record<string, unknown> }>;
    };
    const dataPath = join(work, 'models');
    const target = join(dataPath, 'apigateway', '2015-07-09');
    mkdirSync(target, { recursive: true });
    if (!model.shapes['PutIntegrationRequest']?.members?.['responseTransferMode']) {
      model.shapes['ResponseTransferMode'] = { type: 'string', enum: ['BUFFERED', 'STREAM'] };
      for (const shape of ['PutIntegrationRequest', 'Integration']) {
        const members = model.shapes[shape]?.members;
        if (members) members['responseTransferMode'] = { shape: 'ResponseTransferMode' };
      }
    }
    writeFileSync(join(target, 'service-2.json'), JSON.stringify(model));
    for (const extra of ['paginators-1.json', 'endpoint-rule-set-1.json']) {
      const file = join(installed, 'apigateway', '2015-07-09', extra);
      if (existsSync(file)) writeFileSync(join(target, extra), readFileSync(file));
    }
    const cli = async (...args: string[]): Promise<Record<string, unknown>> => {
      const r = await awsWith({ AWS_DATA_PATH: dataPath }, 'apigateway', ...args);
      if (r.code !== 0) throw new Error(`aws apigateway ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const apiId = String((await cli('create-rest-api', '--name', 'cli-stream')).id);
    const rootId = String(((await cli('get-resources', '--rest-api-id', apiId)).items as { id: string }[])[0]?.id);
    await cli('put-method', '--rest-api-id', apiId, '--resource-id', rootId, '--http-method', 'ANY', '--authorization-type', 'NONE');
    const fn = 'arn:aws:lambda:us-east-1:000000000000:function:cli-fn';
    const streaming = `arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/${fn}/response-streaming-invocations`;
    const put = await cli('put-integration', '--rest-api-id', apiId, '--resource-id', rootId, '--http-method', 'ANY',
      '--type', 'AWS_PROXY', '--integration-http-method', 'POST', '--uri', streaming, '--response-transfer-mode', 'STREAM', '--timeout-in-millis', '900000');
    expect(put).toMatchObject({ responseTransferMode: 'STREAM', timeoutInMillis: 900000, uri: streaming });
    expect(await cli('get-integration', '--rest-api-id', apiId, '--resource-id', rootId, '--http-method', 'ANY'))
      .toMatchObject({ responseTransferMode: 'STREAM', timeoutInMillis: 900000 });
    const refused = await awsWith({ AWS_DATA_PATH: dataPath }, 'apigateway', 'put-integration', '--rest-api-id', apiId, '--resource-id', rootId,
      '--http-method', 'ANY', '--type', 'AWS_PROXY', '--integration-http-method', 'POST', '--uri', streaming, '--response-transfer-mode', 'STREAM',
      '--timeout-in-millis', '900001');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('BadRequestException');
    expect(refused.stderr).toContain('Timeout should be between 50 ms and 900000 ms');
    const back = await cli('update-integration', '--rest-api-id', apiId, '--resource-id', rootId, '--http-method', 'ANY', '--patch-operations',
      `op=replace,path=/uri,value=arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${fn}/invocations`,
      'op=replace,path=/responseTransferMode,value=BUFFERED', 'op=replace,path=/timeoutInMillis,value=29000');
    expect(back).toMatchObject({ responseTransferMode: 'BUFFERED', timeoutInMillis: 29000 });
  });
});

/** Where Debian's AWS CLI v2 keeps its service models. */
const CLI_MODELS = ['/usr/lib/python3/dist-packages/awscli/botocore/data', '/usr/share/awscli/botocore/data'];
