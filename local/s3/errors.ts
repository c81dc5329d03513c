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

/** MethodNotAllowed (405): a method S3 has no operation for on this resource. */
export function methodNotAllowed(method: string): AwsError {
  return new AwsError(405, 'MethodNotAllowed', `The specified method is not allowed against this resource (the local stack's S3 does not serve this ${method}).`);
}

/**
 * NotImplemented (501), in the words of S3's error code list: an operation S3 has (a query
 * subresource such as `?tagging`, a header such as `x-amz-copy-source`) that the stack does not.
 */
export function notImplemented(): AwsError {
  return new AwsError(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
}

/** AccessDenied (403): IAM refused the call; the message says who, what and why. */
export function accessDenied(message: string): AwsError {
  return new AwsError(403, 'AccessDenied', message);
}

/** InvalidArgument (400) for a versionId: every bucket of the stack is unversioned, where only `null` names a version. */
export function invalidVersionId(versionId: string): AwsError {
  return new AwsError(400, 'InvalidArgument', 'Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: versionId });
}

/** InvalidRange (416): a Range that starts past the object's end. */
export function invalidRange(range: string, size: number): AwsError {
  return new AwsError(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: range, ActualObjectSize: size });
}

/** InvalidLocationConstraint (400): a constraint us-east-1 does not take (`us-east-1` itself, an unknown region). */
export function invalidLocationConstraint(constraint: string): AwsError {
  return new AwsError(400, 'InvalidLocationConstraint', 'The specified location-constraint is not valid', { LocationConstraint: constraint });
}

/**
 * IllegalLocationConstraintException (400): outside us-east-1 the constraint must name the
 * endpoint's own region (`unspecified` when the request gave none).
 */
export function illegalLocationConstraint(constraint: string): AwsError {
  return new AwsError(400, 'IllegalLocationConstraintException', `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`);
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
