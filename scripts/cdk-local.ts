#!/usr/bin/env -S npx tsx
// npm run cdk:local: the example CDK app deployed on the local stack through its CloudFormation. See --help.
import { runMain, scriptArgs } from './lib/cli';
import { CDK_LOCAL_USAGE, deployLocal, destroyLocal, parseCdkLocalArgs } from './lib/cdk-local';

await runMain('cdk:local', async () => {
  const options = parseCdkLocalArgs(scriptArgs(import.meta.url));
  if (options.help) {
    console.log(CDK_LOCAL_USAGE);
    return;
  }
  if (options.destroy) {
    await destroyLocal(options);
    return;
  }
  for (const result of await deployLocal(options)) {
    console.log(`${result.stackName}: ${result.status}`);
    // The template's Url output is the API's AWS URL; this is the same API on the local stack.
    if (result.url) console.log(`Url (on the local stack, for the template's Url output ${result.outputs.Url ?? ''}): ${result.url}`);
  }
});
