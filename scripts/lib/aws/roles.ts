// The execution roles: created with their policies, or deleted.
import { setTimeout as delay } from 'node:timers/promises';
import type { IAMClient } from '@aws-sdk/client-iam';
import {
  AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand,
  GetRoleCommand, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { RolePlan } from '../deploy-plan';
import { DESCRIPTION, deleteIfPresent, isAwsError, isNotFound, type Log } from './clients';

/**
 * Creates an execution role unless it exists, then attaches the managed policies and writes the
 * inline policy (both idempotent, so a changed policy is updated).
 */
export async function ensureRole(iam: IAMClient, role: RolePlan, log: Log): Promise<{ arn: string; created: boolean }> {
  let arn;
  let created = false;
  try {
    arn = (await iam.send(new GetRoleCommand({ RoleName: role.name }))).Role?.Arn;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!arn) {
    const out = await iam.send(new CreateRoleCommand({
      RoleName: role.name,
      AssumeRolePolicyDocument: JSON.stringify(role.trustPolicy),
      Description: `${DESCRIPTION}: execution role of the ${role.key} function`,
    }));
    arn = out.Role?.Arn ?? role.arn;
    created = true;
  }
  for (const policyArn of role.managedPolicyArns) {
    await iam.send(new AttachRolePolicyCommand({ RoleName: role.name, PolicyArn: policyArn }));
  }
  if (role.inlinePolicy) {
    await iam.send(new PutRolePolicyCommand({
      RoleName: role.name,
      PolicyName: role.inlinePolicy.name,
      PolicyDocument: JSON.stringify(role.inlinePolicy.document),
    }));
  }
  log(`role ${role.name}: ${created ? 'created' : 'exists'}, policies set`);
  return { arn, created };
}

/**
 * Runs a Lambda call that names a role, retrying while IAM has not yet propagated a new role
 * (Lambda answers InvalidParameterValueException "cannot be assumed"); no retry on a local endpoint.
 *
 * @template T
 */
export async function withRolePropagation<T>(call: () => Promise<T>, { local, log, attempts = 15, delayMs = 4000 }: { local: boolean; log: Log; attempts?: number; delayMs?: number }): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      const e = (err as Error);
      const propagating = isAwsError(err, 'InvalidParameterValueException') && /assume|role/i.test(String(e.message));
      if (local || !propagating || attempt >= attempts) throw err;
      if (attempt === 1) log('  waiting for the new role to reach Lambda (IAM propagation)...');
      await delay(delayMs);
    }
  }
}

/**
 * Deletes a role after its inline policies and attached managed policies.
 *
 * @returns false when it was already gone
 */
export async function deleteRole(iam: IAMClient, name: string): Promise<boolean> {
  let inline;
  let attached;
  try {
    inline = (await iam.send(new ListRolePoliciesCommand({ RoleName: name }))).PolicyNames ?? [];
    attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies ?? [];
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  for (const policy of inline) await deleteIfPresent(() => iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policy })));
  for (const policy of attached) {
    if (policy.PolicyArn) await deleteIfPresent(() => iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: policy.PolicyArn })));
  }
  return deleteIfPresent(() => iam.send(new DeleteRoleCommand({ RoleName: name })));
}
