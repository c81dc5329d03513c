/**
 * CloudFormation's errors, in its words (LocalStack's parity snapshots under
 * tests/aws/services/cloudformation record them), put on the wire by the query protocol's
 * `sendQueryError` (an XML `ErrorResponse`).
 */
import { AwsError } from '../errors';

/** CloudFormation's XML namespace (API version 2010-05-15). */
export const CLOUDFORMATION_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** ValidationError (400): most of CloudFormation's refusals. */
export function validationError(message: string): AwsError {
  return new AwsError(400, 'ValidationError', message);
}

/** A template that CloudFormation cannot read. */
export function templateFormatError(message: string): AwsError {
  return validationError(`Template format error: ${message}`);
}

/** A stack that is not there (test_stacks.py::test_non_existing_stack_message). */
export function stackNotFound(nameOrId: string): AwsError {
  return validationError(`Stack with id ${nameOrId} does not exist`);
}

/** AlreadyExistsException (400). */
export function stackAlreadyExists(name: string): AwsError {
  return new AwsError(400, 'AlreadyExistsException', `Stack [${name}] already exists`);
}

/** InsufficientCapabilitiesException (400): the template needs a capability the call did not acknowledge. */
export function insufficientCapabilities(capability: string): AwsError {
  return new AwsError(400, 'InsufficientCapabilitiesException', `Requires capabilities : [${capability}]`);
}

/** An update that changes nothing (test_update_stack.py). */
export function noUpdates(): AwsError {
  return validationError('No updates are to be performed.');
}

/** A template error found while resolving its intrinsic functions. */
export class TemplateError extends Error {
  /** @param message what is wrong, in CloudFormation's words */
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}
