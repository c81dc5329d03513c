// The local stack's S3, SSM and Secrets Manager: the parts a CDK deployment uses, with the SDK
// (S3, SSM) and the AWS CLI v2 (Secrets Manager, S3 through `aws s3`), and their errors as AWS words them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { DeleteParameterCommand, GetParameterCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { LocalStack } from '../../local/server';
import { clientConfig, startQuietStack } from './helpers';

let stack: LocalStack;
let s3: S3Client;
let ssm: SSMClient;

beforeAll(async () => {
  ({ stack } = await startQuietStack());
  s3 = new S3Client({ ...clientConfig(stack), forcePathStyle: true });
  ssm = new SSMClient(clientConfig(stack));
});

afterAll(async () => {
  s3?.destroy();
  ssm?.destroy();
  await stack?.stop();
});

async function refusal(call: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await call;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, ...(e.$metadata?.httpStatusCode !== undefined && { status: e.$metadata.httpStatusCode }) };
  }
  throw new Error('the call was not refused');
}

describe('S3', () => {
  it('keeps objects put as a Buffer (with the SDK\'s CRC32 header) and as an aws-chunked stream, and lists them', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'assets-bucket' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'assets-bucket' }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'assets-bucket', Key: 'dir/a.zip', Body: Buffer.from('zip bytes'), Metadata: { origin: 'test' } }));
    // A single PUT's ETag is the quoted MD5 of its bytes.
    expect(put.ETag).toBe(`"${createHash('md5').update('zip bytes').digest('hex')}"`);
    // A stream of known length goes as aws-chunked with a trailing checksum.
    await s3.send(new PutObjectCommand({ Bucket: 'assets-bucket', Key: 'dir/sub/b.json', Body: Readable.from([Buffer.from('{"a":'), Buffer.from('1}')]), ContentLength: 7, ContentType: 'application/json' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'assets-bucket', Key: 'dir/sub/b.json' }));
    expect(await got.Body?.transformToString()).toBe('{"a":1}');
    expect(got.ContentType).toBe('application/json');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'assets-bucket', Key: 'dir/a.zip' }));
    expect(head).toMatchObject({ ContentLength: 9, Metadata: { origin: 'test' } });
    const all = await s3.send(new ListObjectsV2Command({ Bucket: 'assets-bucket' }));
    expect(all.Contents?.map((o) => [o.Key, o.Size])).toEqual([['dir/a.zip', 9], ['dir/sub/b.json', 7]]);
    const folders = await s3.send(new ListObjectsV2Command({ Bucket: 'assets-bucket', Prefix: 'dir/', Delimiter: '/' }));
    expect(folders.Contents?.map((o) => o.Key)).toEqual(['dir/a.zip']);
    expect(folders.CommonPrefixes).toEqual([{ Prefix: 'dir/sub/' }]);
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'assets-bucket', MaxKeys: 1 }));
    expect(page).toMatchObject({ IsTruncated: true, KeyCount: 1 });
    const rest = await s3.send(new ListObjectsV2Command({ Bucket: 'assets-bucket', ContinuationToken: page.NextContinuationToken }));
    expect(rest.Contents?.map((o) => o.Key)).toEqual(['dir/sub/b.json']);
  });

  it('answers missing buckets and keys with NoSuchBucket and NoSuchKey (404), a HEAD without a body', async () => {
    expect(await refusal(s3.send(new GetObjectCommand({ Bucket: 'assets-bucket', Key: 'nope' }))))
      .toEqual({ name: 'NoSuchKey', message: 'The specified key does not exist.', status: 404 });
    expect(await refusal(s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' }))))
      .toEqual({ name: 'NoSuchBucket', message: 'The specified bucket does not exist', status: 404 });
    expect(await refusal(s3.send(new HeadObjectCommand({ Bucket: 'assets-bucket', Key: 'nope' })))).toMatchObject({ name: 'NotFound', status: 404 });
    expect(await refusal(s3.send(new DeleteBucketCommand({ Bucket: 'assets-bucket' }))))
      .toEqual({ name: 'BucketNotEmpty', message: 'The bucket you tried to delete is not empty', status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'assets-bucket', Key: 'dir/a.zip' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'assets-bucket', Key: 'dir/sub/b.json' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'assets-bucket' }));
    expect(await refusal(s3.send(new HeadBucketCommand({ Bucket: 'assets-bucket' })))).toMatchObject({ name: 'NotFound', status: 404 });
  });

  it('serves virtual-hosted requests (`<bucket>.localhost`) too', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'hosted-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'hosted-bucket', Key: 'k.txt', Body: 'hosted' }));
    const body = await new Promise<string>((resolve, reject) => {
      request({
        host: '127.0.0.1', port: stack.port, path: '/k.txt',
        headers: { host: `hosted-bucket.localhost:${stack.port}`, authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      }).on('error', reject).end();
    });
    expect(body).toBe('hosted');
  });
});

describe('SSM Parameter Store', () => {
  it('puts, gets, overwrites and deletes parameters', async () => {
    expect(await ssm.send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '30', Type: 'String' }))).toMatchObject({ Version: 1, Tier: 'Standard' });
    expect(await refusal(ssm.send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '31', Type: 'String' }))))
      .toMatchObject({ name: 'ParameterAlreadyExists', message: 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.' });
    expect(await ssm.send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '31', Type: 'String', Overwrite: true }))).toMatchObject({ Version: 2 });
    const got = await ssm.send(new GetParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version' }));
    expect(got.Parameter).toMatchObject({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '31', Version: 2, Type: 'String', ARN: 'arn:aws:ssm:us-east-1:000000000000:parameter/cdk-bootstrap/hnb659fds/version' });
    const many = await ssm.send(new GetParametersCommand({ Names: ['/cdk-bootstrap/hnb659fds/version', '/missing'] }));
    expect(many.Parameters?.map((p) => p.Value)).toEqual(['31']);
    expect(many.InvalidParameters).toEqual(['/missing']);
    await ssm.send(new DeleteParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version' }));
    expect(await refusal(ssm.send(new GetParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version' })))).toMatchObject({ name: 'ParameterNotFound', status: 400 });
  });
});

const AWS = '/usr/bin/aws';
const requireTools = process.env.REQUIRE_TOOLS === '1';
if (!existsSync(AWS)) {
  console.warn(`[s3-ssm-secretsmanager.test] ${AWS} (AWS CLI v2, Debian's awscli) is absent: ${requireTools ? 'REQUIRE_TOOLS=1 is set, so this fails.' : 'skipping its AWS CLI cases.'}`);
}

describe.skipIf(!existsSync(AWS) && !requireTools)('Secrets Manager and S3 through the AWS CLI v2', { timeout: 60_000 }, () => {
  function aws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(AWS, ['--endpoint-url', stack.url, '--region', 'us-east-1', '--output', 'json', ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_PAGER: '', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' },
      }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  }

  it('creates, reads, describes and deletes a secret; finds it by name, ARN and partial ARN', async () => {
    const created = JSON.parse((await aws('secretsmanager', 'create-secret', '--name', 'kit/signing', '--secret-string', '{"key":"v"}')).stdout) as { ARN: string; Name: string };
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:kit\/signing-[A-Za-z0-9]{6}$/);
    for (const id of ['kit/signing', created.ARN, created.ARN.slice(0, -7)]) {
      const value = JSON.parse((await aws('secretsmanager', 'get-secret-value', '--secret-id', id)).stdout) as Record<string, unknown>;
      expect(value).toMatchObject({ ARN: created.ARN, Name: 'kit/signing', SecretString: '{"key":"v"}', VersionStages: ['AWSCURRENT'] });
    }
    const duplicate = await aws('secretsmanager', 'create-secret', '--name', 'kit/signing', '--secret-string', 'x');
    expect(duplicate.stderr).toContain('(ResourceExistsException) when calling the CreateSecret operation: The operation failed because the secret kit/signing already exists.');
    const described = JSON.parse((await aws('secretsmanager', 'describe-secret', '--secret-id', 'kit/signing')).stdout) as Record<string, unknown>;
    expect(described).toMatchObject({ ARN: created.ARN, Name: 'kit/signing' });
    const password = JSON.parse((await aws('secretsmanager', 'get-random-password', '--password-length', '48', '--exclude-punctuation')).stdout) as { RandomPassword: string };
    expect(password.RandomPassword).toMatch(/^[A-Za-z0-9]{48}$/);
    await aws('secretsmanager', 'delete-secret', '--secret-id', created.ARN, '--force-delete-without-recovery');
    const gone = await aws('secretsmanager', 'get-secret-value', '--secret-id', 'kit/signing');
    expect(gone.code).not.toBe(0);
    // LocalStack's test_secretsmanager.snapshot.json records ResourceNotFoundException's words.
    expect(gone.stderr).toContain("(ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret.");
  });

  it('serves `aws s3 cp` and `aws s3 ls`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3-cli-'));
    writeFileSync(join(dir, 'a b+c.txt'), 'hello');
    expect((await aws('s3', 'mb', 's3://cli-bucket')).code).toBe(0);
    expect((await aws('s3', 'cp', join(dir, 'a b+c.txt'), 's3://cli-bucket/x/a b+c.txt')).code).toBe(0);
    const listed = await aws('s3', 'ls', 's3://cli-bucket', '--recursive');
    expect(listed.stdout).toMatch(/\s5 x\/a b\+c\.txt\n$/);
    expect((await aws('s3', 'cp', 's3://cli-bucket/x/a b+c.txt', join(dir, 'back.txt'))).code).toBe(0);
  });
});
