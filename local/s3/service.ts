/**
 * S3, the part a CDK deployment needs, path-style (`http://127.0.0.1:4566/<bucket>/<key>`, what
 * the SDK uses for an IP endpoint) or virtual-hosted on `localhost` (`<bucket>.localhost:4566`): ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * GetBucketLocation, ListObjectsV2, PutObject (one PUT; a plain body or `aws-chunked`, with its
 * Content-MD5 or CRC32 checksum checked), GetObject, HeadObject and DeleteObject. Objects live in
 * memory. Lambda reads function code with {@link S3Service.getObject}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AwsError, BodyTooLargeError } from '../errors';
import { escapeXml } from '../iam/errors';
import { decodePart, readBody, regionOf, send } from '../http';
import { decodeAwsChunked } from './chunked';
import {
  badDigest, bucketAlreadyOwned, bucketNotEmpty, entityTooLarge, internalError, invalidBucketName, invalidRequest,
  methodNotAllowed, noSuchBucket, noSuchKey, sendS3Error,
} from './errors';

/** S3's XML namespace. */
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Largest single PUT the stack takes (AWS takes 5 GB; the stack keeps objects in memory). */
const MAX_OBJECT_BYTES = 100 * 1024 * 1024;

/** Most keys one ListObjectsV2 page holds (S3's default and maximum). */
const MAX_KEYS = 1000;

/** Bucket names S3 accepts (general purpose buckets: 3-63 of a-z, 0-9, '.', '-'). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A virtual-hosted host name: the bucket, then `localhost` or an S3 host name. */
const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]*[a-z0-9])\.(?:localhost|s3[.-][a-z0-9.-]*)(?::\d+)?$/;

/** One stored object. */
export interface S3Object {
  /** The bytes. */
  body: Buffer;
  /** The quoted MD5 of the bytes, as S3 gives a single-part object's ETag. */
  etag: string;
  /** When it was written. */
  lastModified: Date;
  /** Its Content-Type. */
  contentType: string;
  /** User metadata (`x-amz-meta-*` headers), by lower-case name. */
  metadata: Record<string, string>;
  /** The CRC32 checksum the client sent, if it sent one. */
  checksumCrc32?: string;
}

interface Bucket {
  name: string;
  region: string;
  created: Date;
  objects: Map<string, S3Object>;
}

/** S3. */
export class S3Service {
  private readonly buckets = new Map<string, Bucket>();

  /** @param options `defaultRegion` for unsigned requests; `log` for the stack's own faults */
  constructor(private readonly options: { defaultRegion: string; log: (line: string) => void }) {}

  /**
   * An object, as GetObject finds it (for Lambda's code from S3).
   * @param bucket the bucket
   * @param key the key
   * @throws AwsError NoSuchBucket or NoSuchKey
   */
  getObject(bucket: string, key: string): S3Object {
    const found = this.bucket(bucket).objects.get(key);
    if (!found) throw noSuchKey(key);
    return found;
  }

  /**
   * Answers one S3 request.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const parts = url.pathname.split('/').slice(1);
      // A virtual-hosted request names its bucket in the host (`<bucket>.localhost:4566`, the SDK's
      // choice for a named endpoint without forcePathStyle); a path-style one in the path.
      const hosted = VIRTUAL_HOST.exec(String(req.headers.host ?? ''))?.[1];
      const [rawBucket = '', ...rawKey] = hosted !== undefined ? [hosted, ...parts] : parts;
      const bucket = decodePart(rawBucket);
      const key = rawKey.map(decodePart).join('/');
      const region = regionOf(req, this.options.defaultRegion);
      if (!bucket) {
        if (req.method !== 'GET') throw methodNotAllowed(req.method ?? '');
        this.listBuckets(res);
      } else if (!key) await this.bucketRequest(req, res, bucket, url.searchParams, region);
      else await this.objectRequest(req, res, bucket, key);
    } catch (err) {
      if (!(err instanceof AwsError)) this.options.log(`[local-stack] S3 fault: ${err instanceof Error ? err.stack : String(err)}`);
      sendS3Error(res, err instanceof AwsError ? err : internalError(), head);
    }
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  private listBuckets(res: ServerResponse): void {
    const buckets = [...this.buckets.values()].map((b) => `<Bucket><Name>${escapeXml(b.name)}</Name><CreationDate>${b.created.toISOString()}</CreationDate></Bucket>`).join('');
    sendXml(res, 200, `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`);
  }

  private async bucketRequest(req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams, region: string): Promise<void> {
    switch (req.method) {
      case 'PUT': {
        if ([...query.keys()].length > 0) throw methodNotAllowed(`PUT ?${[...query.keys()].join('&')}`);
        const body = (await readBody(req, 64 * 1024)).toString('utf8');
        if (!BUCKET_NAME.test(name) || name.includes('..')) throw invalidBucketName(name);
        const constraint = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body)?.[1];
        const existing = this.buckets.get(name);
        if (existing) {
          // us-east-1 answers 200 to its owner's second CreateBucket (S3's legacy behaviour).
          if (existing.region === 'us-east-1' && !constraint) {
            send(res, 200, { Location: `/${name}` });
            return;
          }
          throw bucketAlreadyOwned(name);
        }
        this.buckets.set(name, { name, region: constraint || region, created: new Date(), objects: new Map() });
        send(res, 200, { Location: `/${name}` });
        return;
      }
      case 'HEAD': {
        const bucket = this.bucket(name);
        send(res, 200, { 'x-amz-bucket-region': bucket.region });
        return;
      }
      case 'DELETE': {
        const bucket = this.bucket(name);
        if (bucket.objects.size > 0) throw bucketNotEmpty(name);
        this.buckets.delete(name);
        send(res, 204, {});
        return;
      }
      case 'GET': {
        const bucket = this.bucket(name);
        if (query.has('location')) {
          // us-east-1 is the empty constraint.
          const location = bucket.region === 'us-east-1' ? '' : bucket.region;
          sendXml(res, 200, `<LocationConstraint xmlns="${S3_NS}">${location}</LocationConstraint>`);
          return;
        }
        this.listObjects(res, bucket, query);
        return;
      }
      default:
        throw methodNotAllowed(req.method ?? '');
    }
  }

  private listObjects(res: ServerResponse, bucket: Bucket, query: URLSearchParams): void {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(MAX_KEYS, Math.max(0, Number(query.get('max-keys') ?? MAX_KEYS) || 0));
    const token = query.get('continuation-token');
    // encoding-type=url (the CLI always asks it): keys and prefixes come URL-encoded, and the client decodes them.
    const urlEncoded = query.get('encoding-type') === 'url';
    const name = (text: string): string => escapeXml(urlEncoded ? encodeURIComponent(text).replace(/%2F/g, '/') : text);
    const after = token !== null ? Buffer.from(token, 'base64').toString('utf8') : query.get('start-after') ?? '';
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const contents: string[] = [];
    const prefixes = new Set<string>();
    let last = '';
    let truncated = false;
    for (const key of keys) {
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      const common = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : undefined;
      if (common !== undefined && prefixes.has(common)) continue;
      if (contents.length + prefixes.size >= maxKeys) {
        truncated = true;
        break;
      }
      last = key;
      if (common !== undefined) {
        prefixes.add(common);
        continue;
      }
      const o = bucket.objects.get(key);
      if (!o) continue;
      contents.push(`<Contents><Key>${name(key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${escapeXml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`);
    }
    const common = [...prefixes].map((p) => `<CommonPrefixes><Prefix>${name(p)}</Prefix></CommonPrefixes>`).join('');
    const next = truncated ? `<NextContinuationToken>${Buffer.from(last).toString('base64')}</NextContinuationToken>` : '';
    sendXml(res, 200, `<ListBucketResult xmlns="${S3_NS}"><Name>${escapeXml(bucket.name)}</Name><Prefix>${name(prefix)}</Prefix>`
      + `${delimiter ? `<Delimiter>${name(delimiter)}</Delimiter>` : ''}${urlEncoded ? '<EncodingType>url</EncodingType>' : ''}<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.size}</KeyCount>`
      + `<IsTruncated>${truncated}</IsTruncated>${token !== null ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : ''}${next}${contents.join('')}${common}</ListBucketResult>`);
  }

  private async objectRequest(req: IncomingMessage, res: ServerResponse, bucketName: string, key: string): Promise<void> {
    switch (req.method) {
      case 'PUT': {
        const bucket = this.bucket(bucketName);
        if (req.headers['x-amz-copy-source']) throw methodNotAllowed('CopyObject');
        const object = await readObject(req);
        bucket.objects.set(key, object);
        send(res, 200, { ETag: object.etag, ...(object.checksumCrc32 && { 'x-amz-checksum-crc32': object.checksumCrc32 }) });
        return;
      }
      case 'GET':
      case 'HEAD': {
        const o = this.getObject(bucketName, key);
        const headers: Record<string, string> = {
          'Content-Type': o.contentType, ETag: o.etag, 'Last-Modified': o.lastModified.toUTCString(), 'Accept-Ranges': 'bytes',
          ...Object.fromEntries(Object.entries(o.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
          ...(o.checksumCrc32 && req.headers['x-amz-checksum-mode'] === 'ENABLED' && { 'x-amz-checksum-crc32': o.checksumCrc32 }),
        };
        if (req.method === 'HEAD') {
          res.writeHead(200, { ...headers, 'Content-Length': String(o.body.length) });
          res.end();
        } else send(res, 200, headers, o.body);
        return;
      }
      case 'DELETE': {
        // Deleting a missing key succeeds, as on S3; a missing bucket does not.
        this.bucket(bucketName).objects.delete(key);
        send(res, 204, {});
        return;
      }
      default:
        throw methodNotAllowed(req.method ?? '');
    }
  }
}

/** Reads a PutObject body, decoding aws-chunked and checking the checksums the client sent. */
async function readObject(req: IncomingMessage): Promise<S3Object> {
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_OBJECT_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw entityTooLarge();
    throw err;
  }
  let body = raw;
  let checksum = header(req, 'x-amz-checksum-crc32');
  const encodings = (header(req, 'content-encoding') ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  if (encodings.includes('aws-chunked') || String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) {
    const decoded = decodeAwsChunked(raw);
    if (!decoded) throw invalidRequest('The aws-chunked body is malformed.');
    const declared = header(req, 'x-amz-decoded-content-length');
    if (declared !== undefined && Number(declared) !== decoded.body.length) {
      throw invalidRequest('The decoded content length does not match x-amz-decoded-content-length.');
    }
    body = decoded.body;
    checksum = decoded.trailers['x-amz-checksum-crc32'] ?? checksum;
  }
  const md5 = createHash('md5').update(body);
  const contentMd5 = header(req, 'content-md5');
  const digest = md5.digest();
  if (contentMd5 !== undefined && contentMd5 !== digest.toString('base64')) {
    throw new AwsError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  if (checksum !== undefined) {
    const computed = Buffer.alloc(4);
    computed.writeUInt32BE(crc32(body) >>> 0);
    if (computed.toString('base64') !== checksum) throw badDigest('CRC32');
  }
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return {
    body, etag: `"${digest.toString('hex')}"`, lastModified: new Date(), contentType: header(req, 'content-type') ?? 'binary/octet-stream',
    metadata, ...(checksum !== undefined && { checksumCrc32: checksum }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  send(res, status, { 'Content-Type': 'application/xml' }, `<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}
