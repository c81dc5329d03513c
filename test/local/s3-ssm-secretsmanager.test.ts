// The local stack's S3, SSM and Secrets Manager: the parts a CDK deployment uses, with the SDK
// (S3, SSM) and the AWS CLI v2 (Secrets Manager, S3 through `aws s3`), and their errors as AWS words them;
// what S3 has and the stack does not is refused (501), not served as something else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetBucketLocationCommand, GetBucketPolicyCommand, GetObjectAclCommand, GetObjectAttributesCommand, GetObjectCommand,
  GetObjectLegalHoldCommand, GetObjectRetentionCommand, GetObjectTaggingCommand, GetObjectTorrentCommand, HeadBucketCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsCommand, ListObjectsV2Command, ListObjectVersionsCommand,
  PutBucketVersioningCommand, PutObjectCommand, PutObjectTaggingCommand, RestoreObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import type { LocalStack } from '../../local/server';
import { SsmService } from '../../local/ssm/service';
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

describe('S3: what AWS does that the stack does not, and the rules it keeps', () => {
  const BUCKET = 'rules-bucket';
  const signed = { Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0' };
  const notImplemented = { name: 'NotImplemented', message: 'A header you provided implies functionality that is not implemented', status: 501 };

  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k.txt', Body: '0123456789' }));
  });

  // S3's error code list: NotImplemented (501) "A header you provided implies functionality that
  // is not implemented". Each of these would otherwise be a plain GET or PUT of the object.
  it('refuses the subresources, x-ids and headers of operations it does not serve with 501 NotImplemented, leaving the object as it was', async () => {
    const key = { Bucket: BUCKET, Key: 'k.txt' };
    const calls: Array<[string, Promise<unknown>]> = [
      ['PutObjectTagging', s3.send(new PutObjectTaggingCommand({ ...key, Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } }))],
      ['GetObjectTagging', s3.send(new GetObjectTaggingCommand(key))],
      ['GetObjectAcl', s3.send(new GetObjectAclCommand(key))],
      ['GetObjectRetention', s3.send(new GetObjectRetentionCommand(key))],
      ['GetObjectLegalHold', s3.send(new GetObjectLegalHoldCommand(key))],
      ['GetObjectTorrent', s3.send(new GetObjectTorrentCommand(key))],
      ['GetObjectAttributes', s3.send(new GetObjectAttributesCommand({ ...key, ObjectAttributes: ['ETag'] }))],
      ['RestoreObject', s3.send(new RestoreObjectCommand({ ...key, RestoreRequest: { Days: 1 } }))],
      ['CreateMultipartUpload', s3.send(new CreateMultipartUploadCommand(key))],
      ['UploadPart', s3.send(new UploadPartCommand({ ...key, UploadId: 'upload', PartNumber: 1, Body: 'overwritten?' }))],
      ['CopyObject', s3.send(new CopyObjectCommand({ ...key, CopySource: `${BUCKET}/k.txt`, MetadataDirective: 'REPLACE' }))],
      ['GetBucketPolicy', s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))],
      ['PutBucketVersioning', s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }))],
      ['ListObjectVersions', s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }))],
      ['ListMultipartUploads', s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))],
      ['DeleteObjects', s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'k.txt' }] } }))],
    ];
    const outcomes = await Promise.all(calls.map(async ([name, call]) => [name, await refusal(call)] as const));
    for (const [name, outcome] of outcomes) expect([name, outcome]).toEqual([name, notImplemented]);
    // On the wire: S3's XML Error document; SelectObjectContent's ?select and GetObject's partNumber too.
    for (const [method, query] of [['POST', 'select&select-type=2'], ['GET', 'partNumber=1'], ['PUT', 'retention'], ['PUT', 'legal-hold']] as const) {
      const answer = await fetch(`${stack.url}/${BUCKET}/k.txt?${query}`, { method, headers: signed, ...(method !== 'GET' && { body: '<x/>' }) });
      expect([query, answer.status, await answer.text()]).toEqual([query, 501, expect.stringMatching(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NotImplemented<\/Code><Message>A header you provided implies functionality that is not implemented<\/Message><RequestId>/)]);
    }
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k.txt' }));
    expect(await got.Body?.transformToString()).toBe('0123456789');
    // The SDK's x-id hint and parameters S3 does not know are no operation: the object is served.
    for (const query of ['x-id=GetObject', 'unknown=1']) {
      const answer = await fetch(`${stack.url}/${BUCKET}/k.txt?${query}`, { headers: signed });
      expect([query, answer.status, await answer.text()]).toEqual([query, 200, '0123456789']);
    }
  });

  // LocalStack's test_s3_api.snapshot.json, TestS3ObjectCRUD::test_get_object_with_version_unversioned_bucket
  // and test_delete_object (recorded on AWS): `null` is an unversioned bucket's only version.
  it('answers a versionId as an unversioned bucket does: null is the object, any other InvalidArgument', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k.txt', VersionId: 'null' }));
    expect(await got.Body?.transformToString()).toBe('0123456789');
    const invalid = { name: 'InvalidArgument', message: 'Invalid version id specified', status: 400 };
    expect(await refusal(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k.txt', VersionId: 'HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD' })))).toEqual(invalid);
    expect(await refusal(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'k.txt', VersionId: 'HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD' })))).toEqual(invalid);
    const answer = await fetch(`${stack.url}/${BUCKET}/k.txt?versionId=abc`, { headers: signed });
    expect(await answer.text()).toContain('<ArgumentName>versionId</ArgumentName><ArgumentValue>abc</ArgumentValue>');
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k.txt' }));
  });

  // LocalStack's test_s3.snapshot.json, TestS3::test_invalid_range_error (recorded on AWS).
  it('serves one Range (206 with Content-Range) and refuses a range past the end with InvalidRange (416)', async () => {
    const part = async (Range: string): Promise<[number | undefined, string | undefined, string | undefined]> => {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k.txt', Range }));
      return [got.$metadata.httpStatusCode, got.ContentRange, await got.Body?.transformToString()];
    };
    expect(await part('bytes=2-4')).toEqual([206, 'bytes 2-4/10', '234']);
    expect(await part('bytes=7-')).toEqual([206, 'bytes 7-9/10', '789']);
    expect(await part('bytes=-3')).toEqual([206, 'bytes 7-9/10', '789']);
    expect(await part('bytes=5-100')).toEqual([206, 'bytes 5-9/10', '56789']);
    expect(await refusal(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k.txt', Range: 'bytes=1024-4096' }))))
      .toEqual({ name: 'InvalidRange', message: 'The requested range is not satisfiable', status: 416 });
    // An empty object has no last bytes: the whole of it, 200.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'empty.txt', Body: '' }));
    const empty = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'empty.txt', Range: 'bytes=-5' }));
    expect([empty.$metadata.httpStatusCode, empty.ContentRange, await empty.Body?.transformToString()]).toEqual([200, undefined, '']);
  });

  it('lists with ListObjects (version 1) by marker, and pages past a common prefix in either version', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listed-bucket' }));
    for (const Key of ['a/1', 'a/2', 'b', 'c']) await s3.send(new PutObjectCommand({ Bucket: 'listed-bucket', Key, Body: Key }));
    const first = await s3.send(new ListObjectsCommand({ Bucket: 'listed-bucket', Delimiter: '/', MaxKeys: 2 }));
    expect([first.CommonPrefixes?.map((p) => p.Prefix), first.Contents?.map((o) => o.Key), first.IsTruncated, first.NextMarker]).toEqual([['a/'], ['b'], true, 'b']);
    const second = await s3.send(new ListObjectsCommand({ Bucket: 'listed-bucket', Delimiter: '/', MaxKeys: 2, Marker: first.NextMarker }));
    expect([second.CommonPrefixes, second.Contents?.map((o) => o.Key), second.IsTruncated, second.Marker]).toEqual([undefined, ['c'], false, 'b']);
    // A page that ends at a common prefix: the next begins after every key under it.
    const prefixPage = await s3.send(new ListObjectsCommand({ Bucket: 'listed-bucket', Delimiter: '/', MaxKeys: 1 }));
    expect([prefixPage.CommonPrefixes?.map((p) => p.Prefix), prefixPage.NextMarker]).toEqual([['a/'], 'a/']);
    const afterPrefix = await s3.send(new ListObjectsCommand({ Bucket: 'listed-bucket', Delimiter: '/', Marker: 'a/' }));
    expect([afterPrefix.CommonPrefixes, afterPrefix.Contents?.map((o) => o.Key)]).toEqual([undefined, ['b', 'c']]);
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: 'listed-bucket', Delimiter: '/', MaxKeys: 1 }));
    expect(v2.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/']);
    const v2Rest = await s3.send(new ListObjectsV2Command({ Bucket: 'listed-bucket', Delimiter: '/', ContinuationToken: v2.NextContinuationToken }));
    expect([v2Rest.CommonPrefixes, v2Rest.Contents?.map((o) => o.Key)]).toEqual([undefined, ['b', 'c']]);
    // Without a delimiter, version 1 gives no NextMarker (S3's rule): the client goes on from the last key.
    const plain = await s3.send(new ListObjectsCommand({ Bucket: 'listed-bucket', MaxKeys: 3 }));
    expect([plain.Contents?.map((o) => o.Key), plain.IsTruncated, plain.NextMarker]).toEqual([['a/1', 'a/2', 'b'], true, undefined]);
  });

  // LocalStack's test_s3.snapshot.json (recorded on AWS): TestS3::test_different_location_constraint,
  // test_create_bucket_with_invalid_location_constraint, test_create_bucket_with_eu_location_constraint.
  it('checks CreateBucket\'s location constraint as S3 does, in us-east-1 and elsewhere', async () => {
    const client = (region: string): S3Client => new S3Client({ ...clientConfig(stack), region, forcePathStyle: true });
    const [virginia, ireland] = [client('us-east-1'), client('eu-west-1')];
    const create = (c: S3Client, Bucket: string, LocationConstraint?: string): Promise<unknown> => c.send(new CreateBucketCommand({
      Bucket, ...(LocationConstraint !== undefined && { CreateBucketConfiguration: { LocationConstraint: LocationConstraint as never } }),
    }));
    const location = async (c: S3Client, Bucket: string): Promise<[string | undefined, string | undefined]> => [
      (await c.send(new GetBucketLocationCommand({ Bucket }))).LocationConstraint, (await c.send(new HeadBucketCommand({ Bucket }))).BucketRegion,
    ];
    try {
      await create(virginia, 'lc-plain');
      expect(await location(virginia, 'lc-plain')).toEqual([undefined, 'us-east-1']);
      // us-east-1 takes any other region's constraint, but not its own.
      await create(virginia, 'lc-frankfurt', 'eu-central-1');
      expect(await location(virginia, 'lc-frankfurt')).toEqual(['eu-central-1', 'eu-central-1']);
      const invalid = { name: 'InvalidLocationConstraint', message: 'The specified location-constraint is not valid', status: 400 };
      expect(await refusal(create(virginia, 'lc-self', 'us-east-1'))).toEqual(invalid);
      expect(await refusal(create(virginia, 'lc-foo', 'foo'))).toEqual(invalid);
      // Elsewhere the constraint must name the endpoint's region (EU is eu-west-1's alias).
      const illegal = (what: string) => ({ name: 'IllegalLocationConstraintException', message: `The ${what} location constraint is incompatible for the region specific endpoint this request was sent to.`, status: 400 });
      // The SDK adds its own region as the constraint when none is given: the bare request says none.
      const none = await fetch(`${stack.url}/lc-none`, { method: 'PUT', headers: { Authorization: signed.Authorization.replace('us-east-1', 'eu-west-1') } });
      expect([none.status, await none.text()]).toEqual([400, expect.stringContaining(`<Code>IllegalLocationConstraintException</Code><Message>${illegal('unspecified').message}</Message>`)]);
      expect(await refusal(create(ireland, 'lc-oregon', 'us-west-2'))).toEqual(illegal('us-west-2'));
      expect(await refusal(create(ireland, 'lc-virginia', 'us-east-1'))).toEqual(illegal('us-east-1'));
      await create(ireland, 'lc-ireland', 'eu-west-1');
      await create(ireland, 'lc-eu', 'EU');
      expect([await location(ireland, 'lc-ireland'), await location(ireland, 'lc-eu')]).toEqual([['eu-west-1', 'eu-west-1'], ['EU', 'eu-west-1']]);
      expect(await refusal(s3.send(new HeadBucketCommand({ Bucket: 'lc-none' })))).toMatchObject({ name: 'NotFound', status: 404 });
    } finally {
      virginia.destroy();
      ireland.destroy();
    }
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

describe('SSM Parameter Store: SecureString, answers and paths', () => {
  it('answers a SecureString\'s value as a ciphertext blob unless WithDecryption, in GetParameter, GetParameters and GetParametersByPath', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/secure/token', Value: 'hunter2', Type: 'SecureString', KeyId: 'alias/kit' }));
    await ssm.send(new PutParameterCommand({ Name: '/secure/plain', Value: 'visible', Type: 'String' }));
    const encrypted = (await ssm.send(new GetParameterCommand({ Name: '/secure/token' }))).Parameter?.Value ?? '';
    // A KMS ciphertext blob, base64: AWS's begin with AQICAH (format version 1).
    expect(encrypted).toMatch(/^AQICAH[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(encrypted, 'base64').toString('latin1')).not.toContain('hunter2');
    // The stored ciphertext: the same at every read of that version.
    expect((await ssm.send(new GetParameterCommand({ Name: '/secure/token', WithDecryption: false }))).Parameter?.Value).toBe(encrypted);
    expect((await ssm.send(new GetParameterCommand({ Name: '/secure/token', WithDecryption: true }))).Parameter?.Value).toBe('hunter2');
    const values = async (decrypt: boolean): Promise<unknown> => [
      (await ssm.send(new GetParametersCommand({ Names: ['/secure/token', '/secure/plain'], WithDecryption: decrypt }))).Parameters?.map((p) => p.Value),
      (await ssm.send(new GetParametersByPathCommand({ Path: '/secure', WithDecryption: decrypt }))).Parameters?.map((p) => p.Value),
    ];
    // By path in name order: /secure/plain, then /secure/token.
    expect(await values(false)).toEqual([[encrypted, 'visible'], ['visible', encrypted]]);
    expect(await values(true)).toEqual([['hunter2', 'visible'], ['visible', 'hunter2']]);
    // A new version is encrypted anew.
    await ssm.send(new PutParameterCommand({ Name: '/secure/token', Value: 'hunter3', Type: 'SecureString', Overwrite: true }));
    expect((await ssm.send(new GetParameterCommand({ Name: '/secure/token' }))).Parameter?.Value).not.toBe(encrypted);
  });

  // In process, the stack's own CloudFormation reads a value and its type (and refuses a SecureString's).
  it('gives the stack\'s CloudFormation a parameter\'s value and type in process', () => {
    const service = new SsmService({ defaultRegion: 'us-east-1', log: () => {} });
    service.put('us-east-1', '/in-process/secret', 'plain text', 'SecureString');
    expect(service.valueOf('us-east-1', '/in-process/secret')).toBe('plain text');
    expect(service.typeOf('us-east-1', '/in-process/secret')).toBe('SecureString');
    expect(service.valueOf('eu-west-1', '/in-process/secret')).toBeUndefined();
  });

  // LocalStack's test_ssm.snapshot.json, test_parameters_with_path (recorded on AWS): a parameter
  // put with a Description is answered without it, by name or by ARN.
  it('answers GetParameter without the Description, by name or by ARN', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/described/p', Value: '123', Type: 'String', Description: 'test' }));
    const byName = (await ssm.send(new GetParameterCommand({ Name: '/described/p' }))).Parameter ?? {};
    expect(Object.keys(byName).sort()).toEqual(['ARN', 'DataType', 'LastModifiedDate', 'Name', 'Type', 'Value', 'Version']);
    const byArn = (await ssm.send(new GetParameterCommand({ Name: byName.ARN }))).Parameter;
    expect(byArn).toMatchObject({ Name: '/described/p', Value: '123', ARN: 'arn:aws:ssm:us-east-1:000000000000:parameter/described/p' });
    expect((await ssm.send(new GetParametersCommand({ Names: [byName.ARN ?? ''] }))).Parameters?.map((p) => p.Name)).toEqual(['/described/p']);
  });

  it('answers GetParametersByPath one level down, every level with Recursive, in pages of at most 10', async () => {
    for (const Name of ['/tree/a', '/tree/b', '/tree/sub/c', '/treehouse', '/other/d']) await ssm.send(new PutParameterCommand({ Name, Value: Name, Type: 'String' }));
    const names = async (input: { Path: string; Recursive?: boolean }): Promise<string[]> => (await ssm.send(new GetParametersByPathCommand(input))).Parameters?.map((p) => p.Name ?? '') ?? [];
    expect(await names({ Path: '/tree' })).toEqual(['/tree/a', '/tree/b']);
    expect(await names({ Path: '/tree/', Recursive: true })).toEqual(['/tree/a', '/tree/b', '/tree/sub/c']);
    const first = await ssm.send(new GetParametersByPathCommand({ Path: '/tree', Recursive: true, MaxResults: 2 }));
    expect(first.Parameters?.map((p) => p.Name)).toEqual(['/tree/a', '/tree/b']);
    const rest = await ssm.send(new GetParametersByPathCommand({ Path: '/tree', Recursive: true, MaxResults: 2, NextToken: first.NextToken }));
    expect([rest.Parameters?.map((p) => p.Name), rest.NextToken]).toEqual([['/tree/sub/c'], undefined]);
    expect(await refusal(ssm.send(new GetParametersByPathCommand({ Path: '/tree', MaxResults: 11 })))).toEqual({
      name: 'ValidationException', status: 400,
      message: "1 validation error detected: Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10",
    });
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

  // LocalStack's test_secretsmanager.snapshot.json (recorded on AWS): test_update_secret_description
  // (a description alone makes no version; a value moves AWSCURRENT and AWSPREVIOUS, and the
  // version left without a label is gone) and test_get_secret_value_errors.
  it('updates a secret: a description in place, a value as a new version taking AWSCURRENT, the last one AWSPREVIOUS', async () => {
    const json = async (...args: string[]): Promise<Record<string, unknown>> => {
      const run = await aws(...args);
      expect(run.stderr).toBe('');
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };
    const created = await json('secretsmanager', 'create-secret', '--name', 'kit/rotating', '--secret-string', 'v1');
    const v1 = String(created.VersionId);
    expect(await json('secretsmanager', 'update-secret', '--secret-id', 'kit/rotating', '--description', 'first')).toEqual({ ARN: created.ARN, Name: 'kit/rotating' });
    expect(await json('secretsmanager', 'describe-secret', '--secret-id', 'kit/rotating')).toMatchObject({ Description: 'first', VersionIdsToStages: { [v1]: ['AWSCURRENT'] } });
    const second = await json('secretsmanager', 'update-secret', '--secret-id', created.ARN as string, '--secret-string', 'v2', '--kms-key-id', 'alias/kit');
    const v2 = String(second.VersionId);
    expect([Object.keys(second).sort(), v2 === v1]).toEqual([['ARN', 'Name', 'VersionId'], false]);
    expect(await json('secretsmanager', 'get-secret-value', '--secret-id', 'kit/rotating')).toMatchObject({ SecretString: 'v2', VersionId: v2, VersionStages: ['AWSCURRENT'] });
    expect(await json('secretsmanager', 'get-secret-value', '--secret-id', 'kit/rotating', '--version-stage', 'AWSPREVIOUS')).toMatchObject({ SecretString: 'v1', VersionId: v1, VersionStages: ['AWSPREVIOUS'] });
    const v3 = String((await json('secretsmanager', 'update-secret', '--secret-id', 'kit/rotating', '--secret-string', 'v3')).VersionId);
    const described = await json('secretsmanager', 'describe-secret', '--secret-id', 'kit/rotating');
    expect([described.VersionIdsToStages, described.KmsKeyId, described.Description]).toEqual([{ [v3]: ['AWSCURRENT'], [v2]: ['AWSPREVIOUS'] }, 'alias/kit', 'first']);
    const gone = await aws('secretsmanager', 'get-secret-value', '--secret-id', 'kit/rotating', '--version-id', v1);
    expect(gone.stderr).toContain(`(ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret value for VersionId: ${v1}`);
    // The ClientRequestToken is the version's id: the same token and value again is the same call.
    expect(await json('secretsmanager', 'update-secret', '--secret-id', 'kit/rotating', '--secret-string', 'v3', '--client-request-token', v3)).toMatchObject({ VersionId: v3 });
    const reused = await aws('secretsmanager', 'update-secret', '--secret-id', 'kit/rotating', '--secret-string', 'v4', '--client-request-token', v3);
    expect(reused.stderr).toContain("(ResourceExistsException) when calling the UpdateSecret operation: You can't modify an existing version, you can only create a new version.");
    const both = await aws('secretsmanager', 'update-secret', '--secret-id', 'kit/rotating', '--secret-string', 'v4', '--secret-binary', 'aGVsbG8=');
    expect(both.stderr).toContain("(InvalidParameterException) when calling the UpdateSecret operation: You can't specify both a binary secret value and a string secret value in the same secret.");
    expect(await json('secretsmanager', 'get-secret-value', '--secret-id', 'kit/rotating')).toMatchObject({ SecretString: 'v3', VersionId: v3 });
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
