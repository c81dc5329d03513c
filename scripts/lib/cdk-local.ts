// npm run cdk:local: the example CDK app synthesized and deployed on the local stack through its
// CloudFormation, as `cdk deploy` would deploy it on AWS (bootstrap resources, file assets in the
// assets bucket, then CreateStack or UpdateStack and a wait).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CloudFormationClient, CreateStackCommand, DeleteStackCommand, DescribeStackEventsCommand, DescribeStackResourcesCommand,
  DescribeStacksCommand, UpdateStackCommand, type Stack, type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ExpectedError, parseFlags } from './cli';
import { invokeUrl } from './deploy-plan';
import { deterministicZip } from './zip';

// As scripts/lib/aws/clients.ts does for deploy: on Node 20 (the project's floor) the SDK's notice
// that its later versions need Node 22 would precede every line this script prints.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** The bootstrap qualifier of CDK's default synthesizer. */
export const BOOTSTRAP_QUALIFIER = 'hnb659fds';

/** The bootstrap version the local "bootstrap" records (the template's rule wants 6 or more). */
export const BOOTSTRAP_VERSION = '30';

/** The local stack's account. */
const ACCOUNT_ID = '000000000000';

/** TemplateBody's limit: a larger template goes through the assets bucket (TemplateURL), as cdk deploy does. */
const MAX_TEMPLATE_BODY = 51_200;

/** How often the wait asks for the stack's status (ms). */
const POLL_MS = 200;

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The usage text. */
export const CDK_LOCAL_USAGE = `Usage: npm run cdk:local -- [options]

Synthesizes the example CDK app (cdk/app.ts, with cdk.json) and deploys it on the local stack
running at AWS_ENDPOINT_URL (default http://127.0.0.1:4566; start one with npm run stack):
a minimal bootstrap (the assets bucket, the /cdk-bootstrap/${BOOTSTRAP_QUALIFIER}/version parameter),
the file assets, then CreateStack or UpdateStack through the stack's CloudFormation, and a wait.
Prints the kit's URL on the local stack. KIT_API_TYPE=http (and the app's other KIT_* variables)
pass through to the synth.

Options:
  --endpoint URL   the local stack (default: AWS_ENDPOINT_URL or http://127.0.0.1:4566)
  --region NAME    region (default: AWS_REGION, AWS_DEFAULT_REGION or us-east-1)
  --out DIR        where to synthesize (default: a new temporary directory)
  --destroy        delete the stack instead (DeleteStack and a wait; with the --out of an
                   earlier run, its assembly names the stack and nothing is synthesized)
  -h, --help       this text`;

/** The options of a run. */
export interface CdkLocalOptions {
  /** The local stack. */
  endpoint: string;
  /** The region. */
  region: string;
  /** The cloud assembly directory, or undefined for a new one. */
  out?: string;
  /** Delete instead of deploy. */
  destroy: boolean;
  /** Print the usage. */
  help: boolean;
}

/**
 * Parses the flags.
 * @param args the raw arguments
 * @param env the environment
 */
export function parseCdkLocalArgs(args: string[], env: NodeJS.ProcessEnv = process.env): CdkLocalOptions {
  const flags = parseFlags(args, { string: ['endpoint', 'region', 'out'], boolean: ['destroy', 'help'], alias: { h: 'help' } });
  return {
    endpoint: (flags.endpoint ?? env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566').replace(/\/+$/, ''),
    region: flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(flags.out !== undefined && { out: path.resolve(flags.out) }),
    destroy: flags.destroy, help: flags.help,
  };
}

/** What a deploy did. */
export interface CdkLocalResult {
  /** The stack's name. */
  stackName: string;
  /** Its status at the end. */
  status: string;
  /** The kit's URL on the local stack. */
  url?: string;
  /** The API's id and stage. */
  api?: { id: string; stage: string };
  /** Its outputs. */
  outputs: Record<string, string>;
}

interface AssetsManifest {
  files?: Record<string, { source: { path: string; packaging?: string }; destinations: Record<string, { bucketName: string; objectKey: string }> }>;
}

interface CloudAssembly {
  artifacts?: Record<string, { type: string; properties?: { templateFile?: string; file?: string }; dependencies?: string[] }>;
}

function clients(options: CdkLocalOptions): { cfn: CloudFormationClient; s3: S3Client; ssm: SSMClient } {
  const config = {
    endpoint: options.endpoint, region: options.region,
    // The local stack takes any credentials; the account's own are used when none are set.
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' },
  };
  return { cfn: new CloudFormationClient(config), s3: new S3Client({ ...config, forcePathStyle: true }), ssm: new SSMClient(config) };
}

/** Refuses with one line when no local stack with CloudFormation answers at the endpoint. */
async function checkEndpoint(endpoint: string): Promise<void> {
  let services: Record<string, string> | undefined;
  try {
    const response = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(5000) });
    services = ((await response.json()) as { services?: Record<string, string> }).services;
  } catch {
    throw new ExpectedError(`no local stack answers at ${endpoint} (start one with npm run stack, or set AWS_ENDPOINT_URL)`);
  }
  if (!services?.cloudformation) throw new ExpectedError(`the stack at ${endpoint} has no CloudFormation (services: ${Object.keys(services ?? {}).join(', ')})`);
}

/**
 * Synthesizes the example app into `out` with the repository's cdk.json.
 * @param out the cloud assembly directory
 */
export async function synth(out: string): Promise<void> {
  const cdk = path.join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
  try {
    await promisify(execFile)(process.execPath, [cdk, 'synth', '-q', '-o', out], { cwd: ROOT, env: process.env, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const line = (e.stderr ?? e.message).split('\n').map((l) => l.trim()).find((l) => l && !/feature flags|^Bundling/.test(l));
    throw new ExpectedError(`cdk synth failed: ${line ?? e.message}`);
  }
}

/** The stack artifacts of an assembly: name, template file and assets manifest. */
function stacksOf(out: string): Array<{ name: string; template: string; assets?: string }> {
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as CloudAssembly;
  const artifacts = manifest.artifacts ?? {};
  return Object.entries(artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack').map(([name, a]) => {
    const assets = (a.dependencies ?? []).map((d) => artifacts[d]).find((d) => d?.type === 'cdk:asset-manifest')?.properties?.file;
    return { name, template: path.join(out, a.properties?.templateFile ?? `${name}.template.json`), ...(assets && { assets: path.join(out, assets) }) };
  });
}

function substitute(text: string, region: string): string {
  return text.replace(/\$\{AWS::AccountId\}/g, ACCOUNT_ID).replace(/\$\{AWS::Region\}/g, region).replace(/\$\{AWS::Partition\}/g, 'aws');
}

/** The files under a directory, by path relative to it (forward slashes). */
function filesUnder(dir: string, prefix = ''): Array<{ name: string; data: Uint8Array }> {
  const out: Array<{ name: string; data: Uint8Array }> = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const name = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(full).isDirectory()) out.push(...filesUnder(full, name));
    else out.push({ name, data: readFileSync(full) });
  }
  return out;
}

/** The assets bucket's name in a region. */
export function assetsBucket(region: string): string {
  return `cdk-${BOOTSTRAP_QUALIFIER}-assets-${ACCOUNT_ID}-${region}`;
}

async function bootstrap(c: ReturnType<typeof clients>, region: string): Promise<void> {
  const bucket = assetsBucket(region);
  try {
    await c.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await c.s3.send(new CreateBucketCommand({ Bucket: bucket, ...(region !== 'us-east-1' && { CreateBucketConfiguration: { LocationConstraint: region as never } }) }));
  }
  await c.ssm.send(new PutParameterCommand({ Name: `/cdk-bootstrap/${BOOTSTRAP_QUALIFIER}/version`, Value: BOOTSTRAP_VERSION, Type: 'String', Overwrite: true }));
}

async function publishAssets(c: ReturnType<typeof clients>, manifestFile: string, region: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as AssetsManifest;
  const dir = path.dirname(manifestFile);
  for (const asset of Object.values(manifest.files ?? {})) {
    const source = path.join(dir, asset.source.path);
    // A directory asset is zipped deterministically: the same files, the same bytes.
    const body = statSync(source).isDirectory() ? deterministicZip(filesUnder(source)) : readFileSync(source);
    for (const destination of Object.values(asset.destinations)) {
      await c.s3.send(new PutObjectCommand({ Bucket: substitute(destination.bucketName, region), Key: substitute(destination.objectKey, region), Body: body }));
    }
  }
}

async function describe(c: ReturnType<typeof clients>, name: string): Promise<Stack | undefined> {
  try {
    return (await c.cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (err) {
    if ((err as Error).name === 'ValidationError' && /does not exist/.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** Waits until the stack is no longer in progress; undefined once it is gone. */
async function waitFor(c: ReturnType<typeof clients>, stackId: string): Promise<Stack | undefined> {
  for (;;) {
    const stack = await describe(c, stackId);
    if (!stack || !stack.StackStatus?.endsWith('_IN_PROGRESS')) return stack;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The first failure of the stack's last operation, as `LogicalId: reason`: events come newest
 * first, and the operation began with the stack's own "User Initiated" event; a failure of an
 * earlier operation is not this one's.
 * @param events DescribeStackEvents' StackEvents, newest first
 * @param stackId the stack's id
 */
export function lastOperationFailure(events: readonly StackEvent[], stackId: string): string | undefined {
  const start = events.findIndex((e) => e.LogicalResourceId === e.StackName && e.PhysicalResourceId === stackId && e.ResourceStatusReason === 'User Initiated');
  const operation = start === -1 ? events : events.slice(0, start + 1);
  const failed = [...operation].reverse().find((e) => e.ResourceStatus?.endsWith('_FAILED') && e.ResourceStatusReason);
  return failed ? `${failed.LogicalResourceId}: ${failed.ResourceStatusReason}` : undefined;
}

async function firstFailure(c: ReturnType<typeof clients>, stackId: string): Promise<string | undefined> {
  const events = (await c.cfn.send(new DescribeStackEventsCommand({ StackName: stackId }))).StackEvents ?? [];
  return lastOperationFailure(events, stackId);
}

/**
 * Deploys the example app on the local stack.
 * @param options where and how
 * @param say where progress lines go
 */
export async function deployLocal(options: CdkLocalOptions, say: (line: string) => void = console.log): Promise<CdkLocalResult[]> {
  await checkEndpoint(options.endpoint);
  const out = options.out ?? mkdtempSync(path.join(tmpdir(), 'cdk-local-'));
  say(`synthesizing the example app into ${out}`);
  await synth(out);
  const c = clients(options);
  await bootstrap(c, options.region);
  const results: CdkLocalResult[] = [];
  for (const artifact of stacksOf(out)) {
    if (artifact.assets) await publishAssets(c, artifact.assets, options.region);
    const body = readFileSync(artifact.template, 'utf8');
    let template: { TemplateBody: string } | { TemplateURL: string } = { TemplateBody: body };
    if (Buffer.byteLength(body) > MAX_TEMPLATE_BODY) {
      const key = `cdk-local/${artifact.name}.template.json`;
      await c.s3.send(new PutObjectCommand({ Bucket: assetsBucket(options.region), Key: key, Body: body }));
      template = { TemplateURL: `${options.endpoint}/${assetsBucket(options.region)}/${key}` };
    }
    const capabilities = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const;
    let existing = await describe(c, artifact.name);
    if (existing?.StackStatus === 'ROLLBACK_COMPLETE' || existing?.StackStatus === 'ROLLBACK_FAILED') {
      // A stack that never got created cannot be updated: delete it first, as cdk deploy does.
      say(`${artifact.name} is ${existing.StackStatus}: deleting it first`);
      await c.cfn.send(new DeleteStackCommand({ StackName: existing.StackId }));
      await waitFor(c, existing.StackId ?? artifact.name);
      existing = undefined;
    }
    let stackId: string;
    if (existing) {
      try {
        stackId = (await c.cfn.send(new UpdateStackCommand({ StackName: artifact.name, ...template, Capabilities: [...capabilities] }))).StackId ?? artifact.name;
        say(`updating ${artifact.name}`);
      } catch (err) {
        if ((err as Error).message !== 'No updates are to be performed.') throw err;
        say(`${artifact.name}: no changes`);
        stackId = existing.StackId ?? artifact.name;
      }
    } else {
      stackId = (await c.cfn.send(new CreateStackCommand({ StackName: artifact.name, ...template, Capabilities: [...capabilities] }))).StackId ?? artifact.name;
      say(`creating ${artifact.name}`);
    }
    const stack = await waitFor(c, stackId);
    const status = stack?.StackStatus ?? 'DELETE_COMPLETE';
    if (status !== 'CREATE_COMPLETE' && status !== 'UPDATE_COMPLETE') {
      const reason = await firstFailure(c, stackId);
      throw new ExpectedError(`stack ${artifact.name} ended ${status}${reason ? `: ${reason}` : ''}`);
    }
    const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
    const api = await apiOf(c, stackId);
    const url = api && invokeUrl({ endpoint: options.endpoint, region: options.region, apiId: api.id, stage: api.stage });
    results.push({ stackName: artifact.name, status, outputs, ...(api && { api }), ...(url && { url }) });
  }
  return results;
}

/**
 * The API and stage of a stack, from its resources: the template's Url output is the API's AWS
 * URL (built with Fn::Join), which the local stack serves under `/_aws/execute-api/<id>/<stage>/`.
 */
async function apiOf(c: ReturnType<typeof clients>, stackId: string): Promise<{ id: string; stage: string } | undefined> {
  const resources = (await c.cfn.send(new DescribeStackResourcesCommand({ StackName: stackId }))).StackResources ?? [];
  const physical = (type: string): string | undefined => resources.find((r) => r.ResourceType === type)?.PhysicalResourceId;
  const rest = physical('AWS::ApiGateway::RestApi');
  if (rest) return { id: rest, stage: physical('AWS::ApiGateway::Stage') ?? 'prod' };
  const http = physical('AWS::ApiGatewayV2::Api');
  if (http) return { id: http, stage: physical('AWS::ApiGatewayV2::Stage') ?? '$default' };
  return undefined;
}

/**
 * Deletes the example app's stacks from the local stack.
 * @param options where
 * @param say where progress lines go
 */
export async function destroyLocal(options: CdkLocalOptions, say: (line: string) => void = console.log): Promise<void> {
  await checkEndpoint(options.endpoint);
  const out = options.out ?? mkdtempSync(path.join(tmpdir(), 'cdk-local-'));
  // The assembly of an earlier run (--out) names the stacks already.
  if (!existsSync(path.join(out, 'manifest.json'))) await synth(out);
  const c = clients(options);
  for (const artifact of stacksOf(out).reverse()) {
    const existing = await describe(c, artifact.name);
    if (!existing) {
      say(`${artifact.name}: not deployed`);
      continue;
    }
    await c.cfn.send(new DeleteStackCommand({ StackName: artifact.name }));
    const stack = await waitFor(c, existing.StackId ?? artifact.name);
    if (stack && stack.StackStatus !== 'DELETE_COMPLETE') {
      const reason = await firstFailure(c, existing.StackId ?? artifact.name);
      throw new ExpectedError(`stack ${artifact.name} ended ${stack.StackStatus}${reason ? `: ${reason}` : ''}`);
    }
    say(`deleted ${artifact.name}`);
  }
}
