// The README's "Deploy with the CDK" example, taken from README.md itself and run as a user's app
// would run it: its `declare const` lines become a stack and a function, and the rest is kept.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function readmeExample(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf('## Deploy with the CDK');
  expect(at, 'README.md has a section "Deploy with the CDK"').toBeGreaterThan(0);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (!block) throw new Error('no ts block under "Deploy with the CDK"');
  return block;
}

describe('README: Deploy with the CDK', () => {
  it('the example synthesizes the kit in front of the given function, behind an HTTP API', () => {
    const example = readmeExample();
    expect(example).toContain("declare const stack: Stack;");
    expect(example).toContain("declare const mySlowFunction: lambda.IFunction;");
    const program = example
      .replace("from './cdk/index'", `from '${path.join(root, 'cdk', 'index.ts')}'`)
      .replace("import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';", "import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';")
      .replace('declare const stack: Stack;', "const app = new App({ outdir: process.env.OUT_DIR }); const stack = new Stack(app, 'Readme');")
      .replace(/declare const mySlowFunction: lambda\.IFunction;.*\n/, "const mySlowFunction = lambda.Function.fromFunctionName(stack, 'Slow', 'my-slow-function');\n")
      + '\napp.synth();\n';
    const dir = path.join(root, '.local', `readme-cdk-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(path.join(dir, 'app.ts'), program);
      execFileSync(process.execPath, ['--import', 'tsx', path.join(dir, 'app.ts')], { cwd: root, env: { ...process.env, OUT_DIR: path.join(dir, 'out') }, stdio: 'pipe' });
      const template = JSON.parse(readFileSync(path.join(dir, 'out', 'Readme.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>; Outputs: Record<string, unknown> };
      const types = Object.values(template.Resources).map((r) => r.Type);
      expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(2);
      expect(types).toContain('AWS::ApiGatewayV2::Api');
      expect(types.filter((t) => t === 'AWS::ApiGatewayV2::Route')).toHaveLength(3);
      const talker = Object.entries(template.Resources).find(([id]) => id.startsWith('KitTalker') && template.Resources[id]!.Type === 'AWS::Lambda::Function')![1];
      expect(talker.Properties.Timeout).toBe(600);
      // An environment-agnostic stack names an imported function through its ARN's parts.
      expect(JSON.stringify((talker.Properties.Environment as { Variables: Record<string, unknown> }).Variables.MAIN_LAMBDA_NAME)).toContain(':function:my-slow-function');
      expect(Object.keys(template.Outputs)).toContain('Url');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it.each(['rest', 'http'])('npx cdk synth of the example app (%s) works offline, cdk-nag included', (apiType) => {
    const out = path.join(root, '.local', `cdk-synth-${apiType}-${process.pid}`);
    try {
      // No network: the CLI's notices and telemetry are off in cdk.json; a proxy that goes nowhere proves it.
      const env = { ...process.env, KIT_API_TYPE: apiType, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' };
      const output = execFileSync(path.join(root, 'node_modules', '.bin', 'cdk'), ['synth', '-q', '-o', out], { cwd: root, env, stdio: 'pipe' }).toString();
      expect(output).not.toMatch(/ERROR|WARNING/);
      const template = JSON.parse(readFileSync(path.join(out, 'LongRequestKit.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
      expect(Object.values(template.Resources).map((r) => r.Type)).toContain(apiType === 'http' ? 'AWS::ApiGatewayV2::Api' : 'AWS::ApiGateway::RestApi');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
