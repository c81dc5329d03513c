// Real HTTP clients through the kit on the local stack, each with its own redirect cap, in both
// transfer modes. The stack's timeouts are scaled down: 1 s buffered windows, and a 6 s stream
// idle timeout (3.6 s windows). For each client, Main runs longer than the client's cap allows
// with 1 s hops: buffered mode shows the cap (the client gives up), stream mode completes in
// fewer hops. The table of results is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { callLongRequest } from '../../client';
import { chooseChromium, CHROMIUM_ARGS } from '../../e2e/support/browser';
import { deployKit, type DeployedKit } from '../support/deployed-kit';

const IDLE_MS = 6000;
/** The stream window: the idle timeout less the 2 s margin, less a tenth. */
const STREAM_WINDOW_S = 3.6;
const BUFFERED_WINDOW_S = 1;

/** What a client did: its final status (or none), the redirects it followed when it says, and why it stopped. */
interface ClientRun {
  status: number | undefined;
  redirects?: number;
  ok: boolean;
  note: string;
}

type Client = (url: string) => Promise<ClientRun>;

function run(file: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 150_000, maxBuffer: 16 * 1024 * 1024, env: { PATH: '/usr/bin:/bin', HOME: tmpdir(), LANG: 'C.UTF-8' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const scratch = mkdtempSync(path.join(tmpdir(), 'clients-'));
const JAVA = path.join(scratch, 'Get.java');
writeFileSync(JAVA, `
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
public class Get {
  public static void main(String[] args) throws Exception {
    HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(120)).build();
    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
    System.out.println(response.statusCode());
    System.out.println(response.body());
  }
}
`);

/** A body main-example produced: its JSON report. */
function isMainReport(body: string): boolean {
  try {
    return typeof (JSON.parse(body) as { waitedSeconds?: unknown }).waitedSeconds === 'number';
  } catch {
    return false;
  }
}

const PY_REQUESTS = `
import sys, requests
try:
    r = requests.get(sys.argv[1], timeout=120)
    print(r.status_code, len(r.history))
    print(r.text)
except requests.TooManyRedirects as e:
    print('none', 0)
    print('TooManyRedirects:', e)
`;
const PY_URLLIB = `
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=120)
    print(r.status)
    print(r.read().decode())
except urllib.error.HTTPError as e:
    print('none')
    print('HTTPError', e.code, e.reason)
`;

let browser: Browser | undefined;

const CLIENTS: Array<{ name: string; cap: number | undefined; call: Client }> = [
  {
    name: 'curl -L', cap: 50,
    call: async (url) => {
      const r = await run('/usr/bin/curl', ['-sS', '-L', '-w', '\n%{http_code} %{num_redirects}', url]);
      const [status, redirects] = (r.stdout.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
      const body = r.stdout.slice(0, r.stdout.lastIndexOf('\n'));
      return { status, redirects, ok: r.code === 0 && status === 200 && isMainReport(body), note: r.code === 0 ? '' : r.stderr.trim() };
    },
  },
  {
    name: 'wget', cap: 20,
    call: async (url) => {
      const r = await run('/usr/bin/wget', ['-q', '-O', '-', url]);
      return { status: r.code === 0 ? 200 : undefined, ok: r.code === 0 && isMainReport(r.stdout), note: r.code === 0 ? '' : `exit ${r.code}` };
    },
  },
  {
    name: 'Python requests', cap: 30,
    call: async (url) => {
      const r = await run('/usr/bin/python3', ['-c', PY_REQUESTS, url]);
      const [head = '', ...rest] = r.stdout.split('\n');
      const [status, redirects] = head.split(' ');
      const body = rest.join('\n');
      const ok = status === '200' && isMainReport(body);
      return { status: Number(status) || undefined, ...(ok && { redirects: Number(redirects) }), ok, note: ok ? '' : body.trim() || r.stderr.trim() };
    },
  },
  {
    name: 'Python urllib', cap: 10,
    call: async (url) => {
      const r = await run('/usr/bin/python3', ['-c', PY_URLLIB, url]);
      const [head = '', ...rest] = r.stdout.split('\n');
      const body = rest.join('\n');
      return { status: Number(head) || undefined, ok: head === '200' && isMainReport(body), note: head === '200' ? '' : body.trim() || r.stderr.trim() };
    },
  },
  {
    name: 'Node fetch', cap: 20,
    call: async (url) => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
        const body = await response.text();
        return { status: response.status, ok: response.status === 200 && isMainReport(body), note: '' };
      } catch (error) {
        const cause = (error as { cause?: { message?: string } }).cause?.message;
        return { status: undefined, ok: false, note: `${String(error)}${cause ? `: ${cause}` : ''}` };
      }
    },
  },
  {
    name: 'Java HttpClient (Redirect.NORMAL)', cap: 5,
    call: async (url) => {
      const r = await run('/usr/bin/java', [JAVA, url]);
      const [head = '', ...rest] = r.stdout.split('\n');
      const status = Number(head) || undefined;
      return { status, ok: status === 200 && isMainReport(rest.join('\n')), note: status === 200 ? '' : status ? `stopped on ${status}` : r.stderr.trim().split('\n')[0] ?? '' };
    },
  },
  {
    name: 'Chromium navigation', cap: 20,
    call: async (url) => {
      if (!browser) throw new Error('no browser');
      const page = await browser.newPage();
      try {
        const response = await page.goto(url, { waitUntil: 'commit', timeout: 120_000 });
        // After BROWSER_HOPS_BEFORE_PAGE redirects the kit sends a page that navigates on; the
        // locator waits across those navigations for main-example's HTML answer.
        await page.locator('h1', { hasText: 'Main example answered' }).waitFor({ timeout: 120_000 });
        return { status: response?.status(), ok: true, note: 'through the self-continuing page' };
      } catch (error) {
        return { status: undefined, ok: false, note: String(error).split('\n')[0] ?? '' };
      } finally {
        await page.close();
      }
    },
  },
  {
    name: 'the kit\'s client', cap: undefined,
    call: async (url) => {
      const response = await callLongRequest(url);
      const body = await response.text();
      return { status: response.status, ok: response.status === 200 && isMainReport(body), note: '' };
    },
  },
];

/**
 * How long Main runs for a client: half as long again as its cap allows with 1 s hops, plus 4 s,
 * so that the cap is reached even when a loaded machine stretches each hop by up to half a second.
 */
function mainSecondsFor(cap: number | undefined): number {
  return Math.ceil((cap ?? 20) * 1.5) + 4;
}

const tools = ['/usr/bin/curl', '/usr/bin/wget', '/usr/bin/python3', '/usr/bin/java', '/usr/bin/javac'];
const missing = tools.filter((tool) => !existsSync(tool));
const hasRequests = existsSync('/usr/lib/python3/dist-packages/requests');
if (!hasRequests) missing.push('python3-requests');
const requireTools = process.env.REQUIRE_TOOLS === '1';
if (missing.length) {
  console.warn(`[real-clients.test] missing ${missing.join(', ')} (Debian packages curl, wget, python3, python3-requests, default-jdk-headless): `
    + (requireTools ? 'REQUIRE_TOOLS=1 is set, so this fails.' : 'skipping the real-client suite.'));
}

let buffered: DeployedKit;
let stream: DeployedKit;
const results = new Map<string, { buffered?: ClientRun; stream?: ClientRun }>();

describe.skipIf(missing.length > 0 && !requireTools)('real clients through the kit', () => {
  beforeAll(async () => {
    const choice = chooseChromium();
    [buffered, stream, browser] = await Promise.all([
      deployKit(['--name-prefix', 'cbuf', '--main-delay', '1', '--wait-seconds', String(BUFFERED_WINDOW_S)]),
      deployKit(['--name-prefix', 'cstr', '--main-delay', '1', '--transfer-mode', 'stream', '--proxy-env', `STREAM_IDLE_TIMEOUT_MS=${IDLE_MS}`], { streamIdleTimeoutMs: IDLE_MS }),
      chromium.launch({ headless: true, args: CHROMIUM_ARGS, ...(choice.executablePath ? { executablePath: choice.executablePath } : {}) }),
    ]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([buffered?.stop(), stream?.stop()]);
    const rows = CLIENTS.map(({ name, cap }) => {
      const r = results.get(name) ?? {};
      const show = (c: ClientRun | undefined): string => {
        if (!c) return 'not run';
        const hops = c.redirects !== undefined ? `, ${c.redirects} redirects` : '';
        const note = c.note.replace(/\s+/g, ' ');
        return c.ok ? `200${hops}${note ? ` (${note})` : ''}` : `failed (${note || `status ${c.status}`})${hops}`;
      };
      return `| ${name} | ${cap ?? 'none'} | ${mainSecondsFor(cap)} s | ${show(r.buffered)} | ${show(r.stream)} |`;
    });
    console.log([
      '', `Real clients: Main runs past each client's cap at ${BUFFERED_WINDOW_S} s buffered hops; stream hops are ${STREAM_WINDOW_S} s (${IDLE_MS} ms idle timeout)`,
      '| Client | Redirect cap | Main | Buffered (1 s hops) | Stream (3.6 s hops) |', '| --- | --- | --- | --- | --- |', ...rows, '',
    ].join('\n'));
  });

  it.concurrent.each(CLIENTS)('$name: buffered mode shows its cap, stream mode completes', async ({ name, cap, call }) => {
    const seconds = mainSecondsFor(cap);
    const [inBuffered, inStream] = await Promise.all([
      call(`${buffered.state.invokeUrl}job?seconds=${seconds}`),
      call(`${stream.state.invokeUrl}job?seconds=${seconds}`),
    ]);
    results.set(name, { buffered: inBuffered, stream: inStream });
    // The kit's client has no cap; Chromium gets the kit's self-continuing page after 15 redirects.
    const completesBuffered = cap === undefined || name.startsWith('Chromium');
    expect(inBuffered.ok, `${name} in buffered mode: ${JSON.stringify(inBuffered)}`).toBe(completesBuffered);
    expect(inStream.ok, `${name} in stream mode: ${JSON.stringify(inStream)}`).toBe(true);
    // Stream hops last about a window each, but a hop whose Proxy started late (a cold start on a
    // loaded machine) ends early, as its deadline counts from the gateway's start; the count is
    // printed above. What must hold is that stream mode stays under the cap buffered mode hits.
    if (inStream.redirects !== undefined && cap !== undefined) expect(inStream.redirects).toBeLessThan(cap);
  }, 170_000);
});
