// The example app: the kit with main-example behind a REST API (KIT_API_TYPE=http: an HTTP API),
// links signed with a generated secret. `npx cdk synth` works offline; `npm run cdk:local`
// deploys it onto the local stack.
import { App, CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LongRequestKit, type KitApiType } from './index';

const app = new App();
const apiType = (process.env.KIT_API_TYPE ?? 'rest') as KitApiType;
const stack = new Stack(app, process.env.KIT_STACK_NAME ?? 'LongRequestKit', {
  description: 'lambda-long-request-kit: a long-timeout API in front of main-example',
});

const signing = new secretsmanager.Secret(stack, 'SigningSecret', {
  description: 'Signs the kit\'s continuation links',
  generateSecretString: { passwordLength: 48, excludePunctuation: true },
});
Validations.of(signing).acknowledge({
  id: 'AwsSolutions-SMG4',
  reason: 'A rotated signing secret would invalidate every link in flight; rotate it by hand between deploys if needed.',
});

const kit = new LongRequestKit(stack, 'Kit', {
  apiType,
  // (a cast: under exactOptionalPropertyTypes aws-cdk-lib's Secret does not match its own ISecret)
  signingSecret: { secret: signing as secretsmanager.ISecret },
  resultsPath: '/_results',
  directRoute: process.env.KIT_DIRECT_ROUTE === '1',
});
new CfnOutput(stack, 'Url', { value: kit.url, description: 'Call this URL: the kit in front of main-example' });
new CfnOutput(stack, 'TableName', { value: kit.table.tableName });

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
