// The resource-policy evaluator's rules, as AWS's IAM User Guide states them ("Condition operators":
// ARN condition operators; "AWS JSON policy elements: Principal" and "NotPrincipal").
import { describe, expect, it } from 'vitest';
import { evaluateIdentityPolicies, evaluateResourcePolicy, matchesArn, type PolicyStatement } from '../../local/iam/evaluate';

const ACCOUNT = '000000000000';
const FUNCTION = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:f`;
const SOURCE = `arn:aws:execute-api:us-east-1:${ACCOUNT}:abc123/dev/GET/items/{id}`;
const call = { service: 'apigateway.amazonaws.com', action: 'lambda:InvokeFunction', resource: FUNCTION, sourceArn: SOURCE, sourceAccount: ACCOUNT };
const allow = (extra: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'lambda:InvokeFunction', Resource: FUNCTION, ...extra,
});
const deny = (extra: Partial<PolicyStatement>): PolicyStatement => ({ ...allow(), Effect: 'Deny', ...extra });
const decide = (...statements: PolicyStatement[]): string => evaluateResourcePolicy(statements, call);

describe('ARN condition operators', () => {
  it('ArnEquals accepts * and ? as ArnLike does', () => {
    expect(decide(allow({ Condition: { ArnEquals: { 'AWS:SourceArn': `arn:aws:execute-api:us-east-1:${ACCOUNT}:abc123/*` } } }))).toBe('allowed');
    expect(decide(allow({ Condition: { ArnEquals: { 'aws:SourceArn': `arn:aws:execute-api:us-east-?:${ACCOUNT}:abc123/dev/GET/items/{id}` } } }))).toBe('allowed');
    expect(decide(allow({ Condition: { ArnEquals: { 'AWS:SourceArn': `arn:aws:execute-api:us-east-1:${ACCOUNT}:other/*` } } }))).toBe('implicitly-denied');
    expect(decide(allow({ Condition: { ArnLike: { 'AWS:SourceArn': `arn:aws:execute-api:us-east-1:${ACCOUNT}:abc123/*` } } }))).toBe('allowed');
  });

  it('matches each of the six colon-separated parts on its own: * stays within its part', () => {
    expect(matchesArn('arn:aws:execute-api:*:*:abc123/*', SOURCE)).toBe(true);
    expect(matchesArn(`arn:aws:*:us-east-1:${ACCOUNT}:*`, SOURCE)).toBe(true);
    // Five parts: the * would have to cross a colon.
    expect(matchesArn('arn:aws:execute-api:*:abc123/*', SOURCE)).toBe(false);
    expect(matchesArn('arn:aws:execute-api:us-east-1:*', SOURCE)).toBe(false);
    expect(matchesArn('*', SOURCE)).toBe(false);
    // The sixth part is the rest, colons included.
    expect(matchesArn(`arn:aws:lambda:us-east-1:${ACCOUNT}:function:*`, `${FUNCTION}:alias`)).toBe(true);
    expect(decide(allow({ Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:execute-api:*:abc123/*' } } }))).toBe('implicitly-denied');
  });

  it('supports the negated operators and the string operators on aws:SourceAccount', () => {
    expect(decide(allow({ Condition: { ArnNotLike: { 'AWS:SourceArn': `arn:aws:execute-api:*:*:other/*` }, StringEquals: { 'AWS:SourceAccount': ACCOUNT } } }))).toBe('allowed');
    expect(decide(allow({ Condition: { StringNotEquals: { 'AWS:SourceAccount': ACCOUNT } } }))).toBe('implicitly-denied');
    expect(decide(allow({ Condition: { StringLike: { 'AWS:SourceAccount': '000*' } } }))).toBe('allowed');
  });
});

describe('conditions the evaluator does not support', () => {
  it('make a Deny apply (err on refusing) and an Allow grant nothing', () => {
    expect(decide(allow(), deny({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }))).toBe('explicitly-denied');
    expect(decide(allow(), deny({ Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-123' } } }))).toBe('explicitly-denied');
    expect(decide(allow(), deny({ Condition: 'not an object' }))).toBe('explicitly-denied');
    expect(decide(allow({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }))).toBe('implicitly-denied');
    // A supported test that fails decides: the Deny does not apply, whatever the other one says.
    expect(decide(allow(), deny({ Condition: { StringEquals: { 'AWS:SourceAccount': '111111111111' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }))).toBe('allowed');
    expect(decide(allow(), deny({ Condition: { ArnLike: { 'AWS:SourceArn': `arn:aws:execute-api:*:*:abc123/*` } } }))).toBe('explicitly-denied');
  });

  it('in identity policies: a Deny with a Condition denies, an Allow with one grants nothing', () => {
    const doc = (statement: Record<string, unknown>): unknown => ({ Version: '2012-10-17', Statement: [statement] });
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/t`;
    const grant = doc({ Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' });
    expect(evaluateIdentityPolicies([grant, doc({ Effect: 'Deny', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })], 'dynamodb:GetItem', table)).toBe('explicitly-denied');
    expect(evaluateIdentityPolicies([doc({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { ArnLike: { 'aws:SourceArn': '*' } } })], 'dynamodb:GetItem', table)).toBe('implicitly-denied');
    expect(evaluateIdentityPolicies([grant], 'dynamodb:GetItem', table)).toBe('allowed');
  });
});

describe('principals of a resource policy', () => {
  it('reads "*" and {"AWS": "*"} as everyone, a Service as that service only', () => {
    expect(decide(allow({ Principal: '*' }))).toBe('allowed');
    expect(decide(allow({ Principal: { AWS: '*' } }))).toBe('allowed');
    expect(decide(allow({ Principal: { AWS: ['*'] } }))).toBe('allowed');
    expect(decide(allow(), deny({ Principal: { AWS: '*' } }))).toBe('explicitly-denied');
    expect(decide(allow({ Principal: { Service: 'events.amazonaws.com' } }))).toBe('implicitly-denied');
    expect(decide(allow({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }))).toBe('implicitly-denied');
  });

  it('reads NotPrincipal conservatively: an Allow with it grants nothing; a Deny applies to all but a service it names', () => {
    const noPrincipal = { Principal: undefined };
    expect(decide(allow({ ...noPrincipal, NotPrincipal: { Service: 'events.amazonaws.com' } }))).toBe('implicitly-denied');
    expect(decide(allow(), deny({ ...noPrincipal, NotPrincipal: { Service: 'events.amazonaws.com' } }))).toBe('explicitly-denied');
    expect(decide(allow(), deny({ ...noPrincipal, NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }))).toBe('explicitly-denied');
    expect(decide(allow(), deny({ ...noPrincipal, NotPrincipal: { Service: ['apigateway.amazonaws.com'] } }))).toBe('allowed');
  });
});
