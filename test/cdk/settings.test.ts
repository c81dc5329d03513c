// The construct's settings against the deploy script's: the same options give the same kit.
import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { KitPropsError } from '../../cdk/errors';
import type { LongRequestKitProps } from '../../cdk/props';
import { kitSettings } from '../../cdk/settings';
import { PROXY_ENV } from '../../core/config';
import { parseDeployArgs, type DeployOptions } from '../../scripts/lib/deploy-options';

function deployOptions(args: string[]): DeployOptions {
  const options = parseDeployArgs(args, {}, '/tmp');
  if ('help' in options && options.help) throw new Error('help');
  return options as DeployOptions;
}

describe('kitSettings: the deploy script\'s defaults and checks', () => {
  const cases: Array<[string, LongRequestKitProps, string[]]> = [
    ['defaults (REST, buffered)', {}, []],
    ['an HTTP API', { apiType: 'http' }, ['--api-type', 'http']],
    ['streaming', { transferMode: 'stream' }, ['--transfer-mode', 'stream']],
    ['a raised buffered timeout', { integrationTimeout: Duration.seconds(120) }, ['--integration-timeout-ms', '120000']],
    ['an edge-optimized stream', { transferMode: 'stream', endpointType: 'EDGE' }, ['--transfer-mode', 'stream', '--endpoint-type', 'EDGE']],
    ['the Proxy options', { waitSeconds: 10, corsOrigin: 'https://app.example.com', resultsPath: '/_results', memorySize: 512 },
      ['--wait-seconds', '10', '--cors-origin', 'https://app.example.com', '--results-path', '/_results', '--memory', '512']],
    ['timeouts', { timeouts: { proxy: Duration.seconds(40), talker: Duration.minutes(10), mainExample: Duration.minutes(5) } },
      ['--proxy-timeout', '40', '--talker-timeout', '600', '--main-timeout', '300']],
    ['an extra Proxy variable', { environment: { proxy: { [PROXY_ENV.pollMaxMs]: '500' } } }, ['--proxy-env', `${PROXY_ENV.pollMaxMs}=500`]],
  ];
  it.each(cases)('%s', (_name, props, args) => {
    const settings = kitSettings(props);
    const deploy = deployOptions(args);
    expect(settings.apiType).toBe(deploy.apiType);
    expect(settings.transferMode).toBe(deploy.transferMode);
    expect(settings.integrationTimeoutMs).toBe(deploy.integrationTimeoutMs);
    expect(settings.timeouts).toEqual({ proxy: deploy.timeouts.proxy, talker: deploy.timeouts.talker, mainExample: deploy.timeouts.main });
    expect(settings.memorySize).toBe(deploy.memory);
    expect(settings.proxyEnvironment).toEqual(deploy.env.proxy);
    expect(settings.mainExampleEnvironment).toEqual({ DELAY_SECONDS: String(deploy.mainDelay) });
  });

  it('refuses what deploy refuses, naming the property', () => {
    const refusals: Array<[LongRequestKitProps, RegExp]> = [
      [{ apiType: 'http', transferMode: 'stream' }, /^LongRequestKit: transferMode stream needs a REST API/],
      [{ apiType: 'http', endpointType: 'EDGE' }, /^LongRequestKit: endpointType is a REST API setting/],
      [{ apiType: 'http', integrationTimeout: Duration.seconds(31) }, /^LongRequestKit: integrationTimeout must be from 3000 to 30000 ms on an HTTP API, got 31000/],
      [{ integrationTimeout: Duration.seconds(2) }, /integrationTimeout must be from 3000 to 300000 ms, got 2000/],
      [{ endpointType: 'EDGE', integrationTimeout: Duration.seconds(60) }, /integrationTimeout 60000 ms: a buffered integration may exceed 29000 ms only through a quota increase/],
      [{ apiType: 'http', binaryMediaTypes: ['image/png'] }, /binaryMediaTypes is a REST API setting/],
      [{ apiType: 'http', stageName: 'prod' }, /stageName applies to a REST API/],
      [{ restApi: {} as never, binaryMediaTypes: ['image/png'] }, /binaryMediaTypes applies to an API the construct creates: set them on the API given/],
      [{ stageName: 'a b' }, /stageName must hold only letters/],
      [{ waitSeconds: 40 }, /waitSeconds \(40\) must be under the Proxy's timeout \(35 s\)/],
      [{ waitSeconds: 0 }, /waitSeconds must be above 0/],
      [{ directRoute: true, resultsPath: '/direct/r' }, /resultsPath \/direct\/r would fall under directRoute's \/direct/],
      [{ resultsPath: '/r/' }, /^LongRequestKit: resultsPath \(the Proxy's RESULTS_PATH\) must be a path like \/_results/],
      [{ corsOrigin: 'app.example.com' }, /corsOrigin \(the Proxy's CORS_ALLOW_ORIGIN\) must be "\*" or an origin/],
      [{ memorySize: 64 }, /memorySize must be a whole number of MB from 128 to 10240, got 64/],
      [{ timeouts: { talker: Duration.minutes(16) } }, /timeouts.talker must be a whole number of seconds from 1 to 900, got 960/],
      [{ environment: { proxy: { DYNAMODB_TABLE_NAME: 'x' } } }, /environment.proxy may not set DYNAMODB_TABLE_NAME: the construct sets it/],
      [{ environment: { talker: { AWS_REGION: 'x' } } }, /environment.talker may not set AWS_REGION: Lambda reserves it/],
      [{ environment: { proxy: { POLL_MAX_MS: '1' } } }, /environment.proxy.POLL_MAX_MS \(the Proxy's POLL_MAX_MS\) must/],
    ];
    for (const [props, message] of refusals) {
      let error: unknown;
      try {
        kitSettings(props);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(props)).toBeInstanceOf(KitPropsError);
      expect((error as Error).message, JSON.stringify(props)).toMatch(message);
    }
  });
});
