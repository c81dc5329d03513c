/**
 * S3's errors, in its words, and how S3 puts them on the wire: an XML `<Error>` document with
 * `Code`, `Message`, the resource's field (`BucketName`, `Key`), `RequestId` and `HostId`; a
 * HEAD request's error has no body.
 */
import type { ServerResponse } from 'node:http';
import { AwsError } from '../errors';
import { escapeXml } from '../iam/errors';
import { newRequestId, send } from '../http';

/** NoSuchBucket (404). */
export function noSuchBucket(bucket: string): AwsError {
  return new AwsError(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
}

/** NoSuchKey (404). */
export function noSuchKey(key: string): AwsError {
  return new AwsError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
}

/** BucketAlreadyOwnedByYou (409): CreateBucket of an existing bucket outside us-east-1. */
export function bucketAlreadyOwned(bucket: string): AwsError {
  return new AwsError(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucket });
}

/** BucketNotEmpty (409). */
export function bucketNotEmpty(bucket: string): AwsError {
  return new AwsError(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: bucket });
}

/** InvalidBucketName (400). */
export function invalidBucketName(bucket: string): AwsError {
  return new AwsError(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
}

/** BadDigest (400): a checksum of the request does not match its body. */
export function badDigest(what: string): AwsError {
  return new AwsError(400, 'BadDigest', `The ${what} you specified did not match the calculated checksum.`);
}

/** InvalidRequest (400). */
export function invalidRequest(message: string): AwsError {
  return new AwsError(400, 'InvalidRequest', message);
}

/** EntityTooLarge (400): a single PUT over the stack's limit. */
export function entityTooLarge(): AwsError {
  return new AwsError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
}

/** MethodNotAllowed (405): an operation the stack does not serve. */
export function methodNotAllowed(method: string): AwsError {
  return new AwsError(405, 'MethodNotAllowed', `The specified method is not allowed against this resource (the local stack's S3 does not serve this ${method}).`);
}

/** InternalError (500). */
export function internalError(): AwsError {
  return new AwsError(500, 'InternalError', 'We encountered an internal error. Please try again.');
}

/**
 * Sends an S3 error.
 * @param res the response
 * @param err the error
 * @param head whether the request was a HEAD (no body)
 */
export function sendS3Error(res: ServerResponse, err: AwsError, head: boolean): void {
  const requestId = newRequestId().replace(/-/g, '').slice(0, 16).toUpperCase();
  const headers = { 'x-amz-request-id': requestId, 'x-amz-id-2': requestId };
  if (head) {
    send(res, err.status, headers);
    return;
  }
  const extra = Object.entries(err.extra).map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  send(res, err.status, { ...headers, 'Content-Type': 'application/xml' },
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${requestId}</HostId></Error>`);
}
