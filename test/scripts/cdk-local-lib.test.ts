// The failure npm run cdk:local names when a stack operation ends badly: the first of the last
// operation, never one an earlier operation left in the stack's history.
import { describe, expect, it } from 'vitest';
import type { StackEvent } from '@aws-sdk/client-cloudformation';
import { lastOperationFailure } from '../../scripts/lib/cdk-local';

const ID = 'arn:aws:cloudformation:us-east-1:000000000000:stack/Kit/1';

function event(logicalId: string, status: string, reason?: string): StackEvent {
  return {
    EventId: `${logicalId}-${status}`, Timestamp: new Date(0),
    StackId: ID, StackName: 'Kit', LogicalResourceId: logicalId, PhysicalResourceId: logicalId === 'Kit' ? ID : `${logicalId}-physical`,
    ResourceStatus: status as StackEvent['ResourceStatus'], ...(reason !== undefined && { ResourceStatusReason: reason }),
  };
}

describe('lastOperationFailure', () => {
  // DescribeStackEvents answers newest first.
  const history = [
    event('Kit', 'CREATE_IN_PROGRESS', 'User Initiated'),
    event('Fn', 'CREATE_COMPLETE'),
    event('Kit', 'CREATE_COMPLETE'),
    event('Kit', 'UPDATE_IN_PROGRESS', 'User Initiated'),
    event('Old', 'CREATE_FAILED', 'an earlier update failed here'),
    event('Kit', 'UPDATE_ROLLBACK_COMPLETE'),
  ];

  it('names the first failure of the last operation only', () => {
    const deletion = [
      ...history,
      event('Kit', 'DELETE_IN_PROGRESS', 'User Initiated'),
      event('Fn', 'DELETE_FAILED', 'the function could not be deleted'),
      event('Table', 'DELETE_FAILED', 'nor the table'),
      event('Kit', 'DELETE_FAILED', 'The following resource(s) failed to delete: [Fn, Table]. '),
    ].reverse();
    expect(lastOperationFailure(deletion, ID)).toBe('Fn: the function could not be deleted');
  });

  it('names nothing when the last operation had no failure of its own', () => {
    const fine = [...history, event('Kit', 'UPDATE_IN_PROGRESS', 'User Initiated'), event('Kit', 'UPDATE_COMPLETE')].reverse();
    expect(lastOperationFailure(fine, ID)).toBeUndefined();
  });
});
