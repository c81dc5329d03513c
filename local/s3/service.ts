/**
 * S3, the part a CDK deployment needs, path-style (`http://127.0.0.1:4566/<bucket>/<key>`, what
 * the SDK uses for an IP endpoint) or virtual-hosted on `localhost` (`<bucket>.localhost:4566`): ListBuckets, CreateBucket
 * (with S3's location-constraint rules), HeadBucket, DeleteBucket, GetBucketLocation, ListObjects and ListObjectsV2,
 * PutObject (one PUT; a plain body or `aws-chunked`, with its Content-MD5 or CRC32 checksum checked), GetObject (with
 * one `Range`), HeadObject and DeleteObject. Every bucket is unversioned. An operation S3 has and the stack does not
 * (a subresource such as `?tagging` or `?uploads`, a header such as `x-amz-copy-source`) is refused with
 * NotImplemented rather than served as a plain GET or PUT. Objects live in memory. Lambda reads function code with
 * {@link S3Service.getObject}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AwsError, BodyTooLargeError } from '../errors';
import { escapeXml } from '../iam/errors';
import { credentialScope, decodePart, readBody, regionOf, send } from '../http';
import { decodeAwsChunked } from './chunked';
import {
  accessDenied, badDigest, bucketAlreadyOwned, bucketNotEmpty, entityTooLarge, illegalLocationConstraint, internalError,
  invalidBucketName, invalidLocationConstraint, invalidRange, invalidRequest, invalidVersionId, methodNotAllowed, noSuchBucket,
  noSuchKey, notImplemented, sendS3Error,
} from './errors';

/** S3's XML namespace. */
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Largest single PUT the stack takes (AWS takes 5 GB; the stack keeps objects in memory). */
const MAX_OBJECT_BYTES = 100 * 1024 * 1024;

/** Most keys one ListObjects(V2) page holds (S3's default and maximum). */
const MAX_KEYS = 1000;

/** Bucket names S3 accepts (general purpose buckets: 3-63 of a-z, 0-9, '.', '-'). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A virtual-hosted host name: the bucket, then `localhost` or an S3 host name. */
const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]*[a-z0-9])\.(?:localhost|s3[.-][a-z0-9.-]*)(?::\d+)?$/;

/**
 * The location constraints CreateBucket takes (the S3 API model's BucketLocationConstraint, but
 * us-east-1, which is no constraint). `EU` is eu-west-1's old alias.
 */
const LOCATION_CONSTRAINTS: ReadonlySet<string> = new Set([
  'EU', 'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
  'ca-central-1', 'ca-west-1', 'cn-north-1', 'cn-northwest-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1',
  'eu-south-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1', 'sa-east-1',
  'us-east-2', 'us-gov-east-1', 'us-gov-west-1', 'us-west-1', 'us-west-2',
]);

/**
 * Query parameters naming a bucket operation S3 has and the stack does not serve (the REST API's
 * `/?acl`, `/?policy`, ...; `?location` is served, for GET).
 */
const BUCKET_SUBRESOURCES: ReadonlySet<string> = new Set([
  'abac', 'accelerate', 'acl', 'analytics', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory', 'lifecycle', 'logging',
  'metadataAnnotationTable', 'metadataConfiguration', 'metadataInventoryTable', 'metadataJournalTable', 'metadataTable', 'metrics',
  'notification', 'object-lock', 'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment',
  'session', 'tagging', 'uploads', 'versioning', 'versions', 'website',
]);

/** Likewise for objects (`/{Key}?tagging`, a multipart upload's `?uploads`, `uploadId=`, `partNumber=`, ...). */
const OBJECT_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl', 'annotation', 'attributes', 'encryption', 'legal-hold', 'partNumber', 'renameObject', 'restore', 'retention', 'select',
  'select-type', 'tagging', 'torrent', 'uploadId', 'uploads',
]);

/** The operations the SDK names in `x-id` that the stack serves (`x-id` is only the SDK's hint; any other query parameter S3 ignores). */
const SERVED_X_IDS: ReadonlySet<string> = new Set(['GetObject', 'PutObject', 'DeleteObject', 'ListBuckets']);

/** Request headers that ask an object operation for what the stack does not do (a copy, SSE-C, tags, object lock, a website redirect). */
const UNSERVED_OBJECT_HEADERS = [
  'x-amz-copy-source', 'x-amz-server-side-encryption-customer-algorithm', 'x-amz-tagging', 'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold', 'x-amz-website-redirect-location',
];

/** GetObject's `response-*` parameters and the header each sets. */
const RESPONSE_OVERRIDES: Readonly<Record<string, string>> = {
  'response-content-type': 'Content-Type', 'response-content-language': 'Content-Language', 'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control', 'response-content-disposition': 'Content-Disposition', 'response-content-encoding': 'Content-Encoding',
};

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
  /** The region it lives in. */
  region: string;
  /** The constraint it was created with, as GetBucketLocation answers it (none in us-east-1). */
  constraint?: string;
  created: Date;
  objects: Map<string, S3Object>;
}

/** Options of {@link S3Service}. */
export interface S3Options {
  /** Region for unsigned requests. */
  defaultRegion: string;
  /** Where the stack's own faults are written. */
  log: (line: string) => void;
  /**
   * Checks a call against the caller's role (`s3:GetObject` on `arn:aws:s3:::bucket/key`,
   * `s3:ListAllMyBuckets` on `*`, ...): AccessDenied's message when it is refused.
   */
  authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
}

/** Throws AccessDenied when the request's caller may not perform the action on the resource. */
type Check = (action: string, resource: string) => void;

/** S3. */
export class S3Service {
  private readonly buckets = new Map<string, Bucket>();

  /** @param options the default region, the log, and the IAM check */
  constructor(private readonly options: S3Options) {}

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
      const query = url.searchParams;
      const region = regionOf(req, this.options.defaultRegion);
      refuseUnserved(req, query, key ? OBJECT_SUBRESOURCES : BUCKET_SUBRESOURCES, key !== '');
      const check = this.checker(req);
      if (!bucket) {
        if (req.method !== 'GET') throw methodNotAllowed(req.method ?? '');
        // ListBuckets has no resource of its own (the Service Authorization Reference lists none).
        check('s3:ListAllMyBuckets', '*');
        this.listBuckets(res);
      } else if (!key) await this.bucketRequest(req, res, bucket, query, region, check);
      else await this.objectRequest(req, res, bucket, key, query, check);
    } catch (err) {
      if (!(err instanceof AwsError)) this.options.log(`[local-stack] S3 fault: ${err instanceof Error ? err.stack : String(err)}`);
      sendS3Error(res, err instanceof AwsError ? err : internalError(), head);
    }
  }

  private checker(req: IncomingMessage): Check {
    const caller = credentialScope(req)?.accessKeyId;
    return (action, resource) => {
      const message = this.options.authorize?.(caller, action, resource);
      if (message !== undefined) throw accessDenied(message);
    };
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  private listBuckets(res: ServerResponse): void {
    const buckets = [...this.buckets.values()].map((b) => `<Bucket><Name>${escapeXml(b.name)}</Name><CreationDate>${b.created.toISOString()}</CreationDate><BucketRegion>${b.region}</BucketRegion></Bucket>`).join('');
    sendXml(res, 200, `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`);
  }

  private async bucketRequest(req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams, region: string, check: Check): Promise<void> {
    const arn = `arn:aws:s3:::${name}`;
    switch (req.method) {
      case 'PUT': {
        check('s3:CreateBucket', arn);
        const body = (await readBody(req, 64 * 1024)).toString('utf8');
        if (!BUCKET_NAME.test(name) || name.includes('..')) throw invalidBucketName(name);
        const constraint = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body)?.[1] || undefined;
        const home = bucketRegion(region, constraint);
        const existing = this.buckets.get(name);
        if (existing) {
          // us-east-1 answers 200 to its owner's second CreateBucket (S3's legacy behaviour).
          if (existing.region === 'us-east-1' && home === 'us-east-1') {
            send(res, 200, { Location: `/${name}` });
            return;
          }
          throw bucketAlreadyOwned(name);
        }
        this.buckets.set(name, { name, region: home, ...(constraint !== undefined && { constraint }), created: new Date(), objects: new Map() });
        send(res, 200, { Location: `/${name}` });
        return;
      }
      case 'HEAD': {
        check('s3:ListBucket', arn);
        const bucket = this.bucket(name);
        send(res, 200, { 'x-amz-bucket-region': bucket.region });
        return;
      }
      case 'DELETE': {
        check('s3:DeleteBucket', arn);
        const bucket = this.bucket(name);
        if (bucket.objects.size > 0) throw bucketNotEmpty(name);
        this.buckets.delete(name);
        send(res, 204, {});
        return;
      }
      case 'GET': {
        if (query.has('location')) {
          check('s3:GetBucketLocation', arn);
          const bucket = this.bucket(name);
          // us-east-1 is the empty constraint.
          sendXml(res, 200, `<LocationConstraint xmlns="${S3_NS}">${escapeXml(bucket.constraint ?? '')}</LocationConstraint>`);
          return;
        }
        check('s3:ListBucket', arn);
        const bucket = this.bucket(name);
        if (query.get('list-type') === '2') this.listObjectsV2(res, bucket, query);
        else this.listObjects(res, bucket, query);
        return;
      }
      case 'POST':
        // PostObject (an HTML form's upload).
        throw notImplemented();
      default:
        throw methodNotAllowed(req.method ?? '');
    }
  }

  /** The keys and common prefixes of a listing page, after `after`. */
  private page(bucket: Bucket, query: URLSearchParams, after: string): { keys: string[]; prefixes: string[]; last: string; truncated: boolean; maxKeys: number } {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(MAX_KEYS, Math.max(0, Number(query.get('max-keys') ?? MAX_KEYS) || 0));
    const keys: string[] = [];
    const prefixes = new Set<string>();
    let last = '';
    let truncated = false;
    // A page may end at a common prefix: the next starts after every key under it.
    const afterPrefix = delimiter !== '' && after.startsWith(prefix) && after.endsWith(delimiter)
      && after.indexOf(delimiter, prefix.length) === after.length - delimiter.length;
    const listed = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after && !(afterPrefix && k.startsWith(after)));
    for (const key of listed.sort()) {
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      const common = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : undefined;
      if (common !== undefined && prefixes.has(common)) continue;
      if (keys.length + prefixes.size >= maxKeys) {
        truncated = true;
        break;
      }
      last = common ?? key;
      if (common !== undefined) prefixes.add(common);
      else keys.push(key);
    }
    return { keys, prefixes: [...prefixes], last, truncated, maxKeys };
  }

  private contents(bucket: Bucket, keys: string[], name: (text: string) => string, owner: boolean): string {
    return keys.map((key) => {
      const o = bucket.objects.get(key);
      if (!o) return '';
      return `<Contents><Key>${name(key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${escapeXml(o.etag)}</ETag><Size>${o.body.length}</Size>`
        + `${owner ? '<Owner><ID>local</ID><DisplayName>local</DisplayName></Owner>' : ''}<StorageClass>STANDARD</StorageClass></Contents>`;
    }).join('');
  }

  private listObjectsV2(res: ServerResponse, bucket: Bucket, query: URLSearchParams): void {
    const token = query.get('continuation-token');
    const { name, urlEncoded, prefix, delimiter } = listingNames(query);
    const after = token !== null ? Buffer.from(token, 'base64').toString('utf8') : query.get('start-after') ?? '';
    const page = this.page(bucket, query, after);
    const common = page.prefixes.map((p) => `<CommonPrefixes><Prefix>${name(p)}</Prefix></CommonPrefixes>`).join('');
    const next = page.truncated ? `<NextContinuationToken>${Buffer.from(page.last).toString('base64')}</NextContinuationToken>` : '';
    sendXml(res, 200, `<ListBucketResult xmlns="${S3_NS}"><Name>${escapeXml(bucket.name)}</Name><Prefix>${name(prefix)}</Prefix>`
      + `${delimiter ? `<Delimiter>${name(delimiter)}</Delimiter>` : ''}${urlEncoded ? '<EncodingType>url</EncodingType>' : ''}<MaxKeys>${page.maxKeys}</MaxKeys><KeyCount>${page.keys.length + page.prefixes.length}</KeyCount>`
      + `<IsTruncated>${page.truncated}</IsTruncated>${token !== null ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : ''}${next}`
      + `${this.contents(bucket, page.keys, name, query.get('fetch-owner') === 'true')}${common}</ListBucketResult>`);
  }

  /** ListObjects (version 1): `marker` where V2 has a token, Owner in each entry, NextMarker only with a delimiter (S3's rule). */
  private listObjects(res: ServerResponse, bucket: Bucket, query: URLSearchParams): void {
    const marker = query.get('marker') ?? '';
    const { name, urlEncoded, prefix, delimiter } = listingNames(query);
    const page = this.page(bucket, query, marker);
    const common = page.prefixes.map((p) => `<CommonPrefixes><Prefix>${name(p)}</Prefix></CommonPrefixes>`).join('');
    const next = page.truncated && delimiter ? `<NextMarker>${name(page.last)}</NextMarker>` : '';
    sendXml(res, 200, `<ListBucketResult xmlns="${S3_NS}"><Name>${escapeXml(bucket.name)}</Name><Prefix>${name(prefix)}</Prefix><Marker>${name(marker)}</Marker>`
      + `${next}<MaxKeys>${page.maxKeys}</MaxKeys>${delimiter ? `<Delimiter>${name(delimiter)}</Delimiter>` : ''}${urlEncoded ? '<EncodingType>url</EncodingType>' : ''}`
      + `<IsTruncated>${page.truncated}</IsTruncated>${this.contents(bucket, page.keys, name, true)}${common}</ListBucketResult>`);
  }

  private async objectRequest(req: IncomingMessage, res: ServerResponse, bucketName: string, key: string, query: URLSearchParams, check: Check): Promise<void> {
    const arn = `arn:aws:s3:::${bucketName}/${key}`;
    const versionId = query.get('versionId');
    switch (req.method) {
      case 'PUT': {
        check('s3:PutObject', arn);
        const bucket = this.bucket(bucketName);
        const object = await readObject(req);
        bucket.objects.set(key, object);
        send(res, 200, { ETag: object.etag, 'x-amz-server-side-encryption': 'AES256', ...(object.checksumCrc32 && { 'x-amz-checksum-crc32': object.checksumCrc32 }) });
        return;
      }
      case 'GET':
      case 'HEAD': {
        // A versionId needs its own action (the Service Authorization Reference: GetObjectVersion).
        check(versionId !== null ? 's3:GetObjectVersion' : 's3:GetObject', arn);
        const bucket = this.bucket(bucketName);
        if (versionId !== null && versionId !== 'null') throw invalidVersionId(versionId);
        const o = bucket.objects.get(key);
        if (!o) {
          // Without s3:ListBucket a missing key is AccessDenied, not NoSuchKey: the caller may not
          // learn what the bucket holds (GetObject's Permissions in the S3 API Reference).
          check('s3:ListBucket', `arn:aws:s3:::${bucketName}`);
          throw noSuchKey(key);
        }
        const headers: Record<string, string> = {
          'Content-Type': o.contentType, ETag: o.etag, 'Last-Modified': o.lastModified.toUTCString(), 'Accept-Ranges': 'bytes',
          'x-amz-server-side-encryption': 'AES256',
          ...Object.fromEntries(Object.entries(o.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
          ...(o.checksumCrc32 && req.headers['x-amz-checksum-mode'] === 'ENABLED' && { 'x-amz-checksum-crc32': o.checksumCrc32 }),
        };
        if (req.method === 'GET') {
          for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
            const value = query.get(param);
            if (value !== null) headers[name] = value;
          }
        }
        const rangeHeader = header(req, 'range');
        const range = rangeHeader === undefined ? undefined : byteRange(rangeHeader, o.body.length);
        const status = range ? 206 : 200;
        const body = range ? o.body.subarray(range.start, range.end + 1) : o.body;
        if (range) {
          headers['Content-Range'] = `bytes ${range.start}-${range.end}/${o.body.length}`;
          // The stored checksum is the whole object's: a part of it has none to give.
          delete headers['x-amz-checksum-crc32'];
        }
        if (req.method === 'HEAD') {
          res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
          res.end();
        } else send(res, status, headers, body);
        return;
      }
      case 'DELETE': {
        check(versionId !== null ? 's3:DeleteObjectVersion' : 's3:DeleteObject', arn);
        const bucket = this.bucket(bucketName);
        if (versionId !== null && versionId !== 'null') throw invalidVersionId(versionId);
        // Deleting a missing key succeeds, as on S3; a missing bucket does not.
        bucket.objects.delete(key);
        send(res, 204, {});
        return;
      }
      case 'POST':
        // POST on an object is always a subresource (?uploads, ?restore, ?select, ...).
        throw notImplemented();
      default:
        throw methodNotAllowed(req.method ?? '');
    }
  }
}

/**
 * Refuses, with NotImplemented, a request for an operation the stack does not serve: a
 * subresource in the query, an `x-id` naming another operation, or (for objects) a header asking
 * for a copy, SSE-C, tags, object lock or a website redirect. Other query parameters are ignored,
 * as S3 ignores them.
 */
function refuseUnserved(req: IncomingMessage, query: URLSearchParams, subresources: ReadonlySet<string>, object: boolean): void {
  for (const name of query.keys()) {
    if (subresources.has(name)) throw notImplemented();
  }
  const xId = query.get('x-id');
  if (xId !== null && !SERVED_X_IDS.has(xId)) throw notImplemented();
  if (object && UNSERVED_OBJECT_HEADERS.some((name) => req.headers[name] !== undefined)) throw notImplemented();
}

/** The region a CreateBucket makes its bucket in, or S3's refusal of the constraint. */
function bucketRegion(endpointRegion: string, constraint: string | undefined): string {
  if (endpointRegion === 'us-east-1') {
    // us-east-1 (the global endpoint) makes a bucket in any region a constraint names, but not in itself.
    if (constraint === undefined) return 'us-east-1';
    if (!LOCATION_CONSTRAINTS.has(constraint)) throw invalidLocationConstraint(constraint);
    return constraint === 'EU' ? 'eu-west-1' : constraint;
  }
  if (constraint === undefined) throw illegalLocationConstraint('unspecified');
  if (constraint === endpointRegion || (constraint === 'EU' && endpointRegion === 'eu-west-1')) return endpointRegion;
  throw illegalLocationConstraint(constraint);
}

/** How a listing writes names: URL-encoded for `encoding-type=url` (the CLI always asks it), else as they are. */
function listingNames(query: URLSearchParams): { name: (text: string) => string; urlEncoded: boolean; prefix: string; delimiter: string } {
  const urlEncoded = query.get('encoding-type') === 'url';
  const name = (text: string): string => escapeXml(urlEncoded ? encodeURIComponent(text).replace(/%2F/g, '/') : text);
  return { name, urlEncoded, prefix: query.get('prefix') ?? '', delimiter: query.get('delimiter') ?? '' };
}

/**
 * The byte range a `Range` header asks (S3 takes one range: `bytes=a-b`, `bytes=a-`, `bytes=-n`),
 * or undefined for the whole object when the header is not one range (S3 then ignores it).
 * @throws AwsError InvalidRange when the range starts past the end
 */
function byteRange(value: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw invalidRange(value, size);
    // An empty object has no last bytes: the whole (empty) object, 200, as LocalStack's parse_range_header does.
    if (size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (end < start) return undefined;
  if (start >= size) throw invalidRange(value, size);
  return { start, end: Math.min(end, size - 1) };
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
