import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import {
  FakeImApis,
  FakeReceiver,
  TEST_ADMIN_TOKEN,
  TestClient,
  createTestDatabase,
  deleteQueueKeys,
  eventually,
  freePort,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  type RunningApp,
} from '@herald/testing';

/**
 * The web console in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no
 * browser download), against the three apps as processes and a local receiver (issue 14 §6).
 * HERALD_UPDATE_SCREENSHOTS=1 also writes a screenshot of every screen to docs/console/.
 */
const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.HERALD_UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'console') : null;
const FIRST_LOAD_BUDGET = 250 * 1024;
const run = promisify(execFile);

describe('web console in Chromium', () => {
  let apps: RunningApp[] = [];
  let receiver: FakeReceiver;
  let im: FakeImApis;
  let admin: TestClient;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let prefix: string;
  let base: string;
  const firstLoad: { jsBytes: number; jsGzipBytes: number; files: number } = { jsBytes: 0, jsGzipBytes: 0, files: 0 };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    prefix = uniqueQueuePrefix();
    receiver = await FakeReceiver.start();
    // IM providers are local fakes: the IM test must not reach the Internet.
    im = await FakeImApis.start();
    const [ingestionPort, gatewayPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const env = testEnv(await createTestDatabase(), prefix, {
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      // Not the origin the browser uses (127.0.0.1): generated URLs must come from this.
      HERALD_PUBLIC_URL: `http://localhost:${gatewayPort}`,
      HERALD_EXTRA_ALLOWED_HOSTS: '127.0.0.1',
      ...im.env,
    });
    apps = await Promise.all([
      startApp('ingestion', env, ingestionPort),
      startApp('api-gateway', env, gatewayPort),
      startApp('delivery-worker', env, workerPort),
    ]);
    base = apps[1].url;
    admin = new TestClient(base, TEST_ADMIN_TOKEN);
    profile = mkdtempSync(join(tmpdir(), 'herald-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 900 },
      baseURL: base,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await Promise.all(apps.map((app) => stopApp(app)));
    await receiver?.stop();
    await im?.stop();
    if (prefix) await deleteQueueKeys(prefix);
    process.stdout.write(
      `console first load: ${firstLoad.files} JS files, ${(firstLoad.jsBytes / 1024).toFixed(1)} kB, ${(firstLoad.jsGzipBytes / 1024).toFixed(1)} kB gzipped\n`,
    );
  });

  /** No serious or critical axe violation on the screen (issue 14 §6), and its screenshot when asked. */
  async function checkScreen(name: string): Promise<void> {
    await page.waitForLoadState('networkidle');
    const results = await new AxeBuilder({ page }).analyze();
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(
      bad.map(
        (v) =>
          `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes
            .map((n) => n.target.join(' '))
            .slice(0, 3)
            .join(', ')}`,
      ),
    ).toEqual([]);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  const nav = (name: string) => page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name, exact: true }).click();

  it('redirects / to the console, loads at most 250 kB of JavaScript gzipped, and signs in with the admin token (kept out of URLs and localStorage)', async () => {
    const scripts: Array<Promise<Buffer>> = [];
    const onResponse = (res: import('playwright-core').Response) => {
      if (res.request().resourceType() === 'script') scripts.push(res.body());
    };
    page.on('response', onResponse);
    await page.goto('/');
    await page.waitForLoadState('networkidle');
    page.off('response', onResponse);
    expect(new URL(page.url()).pathname).toBe('/console/');
    for (const body of await Promise.all(scripts)) {
      firstLoad.files++;
      firstLoad.jsBytes += body.length;
      firstLoad.jsGzipBytes += gzipSync(body, { level: 9 }).length;
    }
    expect(firstLoad.files).toBeGreaterThan(0);
    expect(firstLoad.jsGzipBytes).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
    await checkScreen('sign-in');

    await page.getByLabel('Admin token or project API key').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByText('That token is neither the admin token nor a valid project API key.')).toBeVisibleSoon();

    await page.getByLabel('Admin token or project API key').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    expect(page.url()).not.toContain(TEST_ADMIN_TOKEN);
    expect(await page.evaluate(() => (globalThis as unknown as { localStorage: { length: number } }).localStorage.length)).toBe(0);
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('herald.console.token'),
      ),
    ).toBe(TEST_ADMIN_TOKEN);
  });

  it('creates a project, a Slack webhook to the receiver tested before saving, and shows a posted event delivered with its attempts', async () => {
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Name').fill('Console demo');
    await page.getByLabel('Key').fill('demo');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: 'Console demo' }).waitFor();
    await checkScreen('projects');
    await page.getByRole('link', { name: 'Console demo' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();

    await nav('Webhooks');
    await page.getByText('No webhooks yet.').waitFor();
    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByRole('radio', { name: 'Slack' }).click();
    await page.getByLabel('Name').fill('ops channel');
    await page.getByLabel('Slack webhook URL').fill(`${receiver.url}/services/T000/B000/XXXX`);
    await page.getByLabel(/^Issue created/).check();
    // A message template, previewed live by the API as a delivery would render it (issue 16).
    await page.getByLabel('Template: Issue created').fill('{{ title }} — {{ actor.name | default: "someone" }}');
    await page.getByRole('region', { name: 'Preview' }).getByText('"text": "Issue created — Ann Lee"').waitFor();
    await checkScreen('webhook-form');
    await page.getByRole('button', { name: 'Send test (before saving)' }).click();
    const panel = page.getByRole('status', { name: 'Test result' });
    await panel.getByText('Test delivered').waitFor();
    await panel.getByText('200').waitFor();
    expect(receiver.requests.filter((r) => r.path === '/services/T000/B000/XXXX')).toHaveLength(1);

    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('heading', { name: 'ops channel' }).waitFor();
    // After saving: the stored URL is masked, and the test uses it without re-entry.
    await expect(page.getByLabel('New URL')).toHaveValueSoon('');
    await page.getByText(/Stored: http:\/\/127\.0\.0\.1:\d+\/…XXXX/).waitFor();
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByRole('status', { name: 'Test result' }).getByText('Test delivered').waitFor();
    expect(receiver.requests.filter((r) => r.path === '/services/T000/B000/XXXX')).toHaveLength(2);

    const posted = await admin.post('/v1/projects/demo/events', { type: 'bb.issue.create', title: 'Posted by the console e2e' });
    expect(posted.status).toBe(202);
    await eventually(() => receiver.requests.filter((r) => r.path === '/services/T000/B000/XXXX').length === 3, 10_000);
    expect(receiver.requests.filter((r) => r.path === '/services/T000/B000/XXXX')[2].body).toContain('"text":"Posted by the console e2e — someone"');
    await nav('Deliveries');
    await page.getByRole('switch', { name: /Tail/ }).click();
    const row = page.getByTestId('delivery-row').filter({ hasText: 'succeeded' }).first();
    await row.waitFor();
    await row.click();
    const detail = page.getByRole('region', { name: /^Delivery / });
    await detail.getByRole('heading', { name: 'Attempts (1)' }).waitFor();
    await detail.getByText('HTTP 200').waitFor();
    await checkScreen('deliveries');

    await nav('Webhooks');
    await page.getByRole('cell', { name: /0\.0 %/ }).waitFor();
    await checkScreen('webhooks');
  });

  it('shows the retries of a failing receiver, then a replay that succeeds', async () => {
    receiver.enqueue({ status: 500, body: 'down' }, { status: 502 }, { status: 503 });
    const posted = await admin.post('/v1/projects/demo/events', { type: 'bb.issue.create', title: 'This one fails first' });
    const deliveryId = await eventually(
      async () => (await admin.get(`/v1/projects/demo/events/${posted.body.id}`)).body.deliveries?.[0]?.id,
      10_000,
      'the delivery',
    );
    await page.goto(`/console/p/demo/deliveries/${deliveryId}`);
    const detail = page.getByRole('region', { name: /^Delivery / });
    await detail.getByRole('heading', { name: 'Attempts (3)' }).waitFor({ timeout: 20_000 });
    await detail.getByText('dead', { exact: true }).waitFor();
    await detail.getByText('HTTP 503').first().waitFor();

    // Recover counts first, and says what it would do, before anything is replayed.
    await page.getByRole('button', { name: 'Recover failed since…' }).click();
    const recover = page.getByRole('dialog', { name: 'Recover failed deliveries' });
    await recover.getByLabel('Webhook').selectOption({ label: 'ops channel' });
    await recover.getByRole('button', { name: 'Count deliveries' }).click();
    await recover.getByText(/^1 failed or dead delivery of ops channel created since .* will be sent again/).waitFor();
    await recover.getByRole('button', { name: 'Replay 1 delivery' }).waitFor();
    await recover.getByRole('button', { name: 'Cancel' }).click();

    await detail.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Replay 1 delivery' }).click();
    await detail.getByRole('heading', { name: 'Attempts (4)' }).waitFor({ timeout: 20_000 });
    await detail.getByText('succeeded', { exact: true }).waitFor();
  });

  it('creates an incoming webhook whose generated curl (run as shown) puts a deployment on the DORA page', async () => {
    await nav('Incoming webhooks');
    await page.getByLabel('New incoming webhook name').fill('ci-e2e');
    await page.getByRole('button', { name: 'Create incoming webhook' }).click();
    const curl = (await page.getByTestId('curl-deployments').textContent()) ?? '';
    // Built on HERALD_PUBLIC_URL (localhost), not on the origin the browser used (127.0.0.1).
    expect(curl).toContain(`http://localhost:${apps[1].port}/api/rest/plugins/webhook/connections/`);
    await checkScreen('incoming-webhooks');
    const { stdout } = await run('bash', ['-c', curl.replace('http://localhost:', 'http://127.0.0.1:')]);
    expect(JSON.parse(stdout)).toMatchObject({ success: true });

    await page.getByRole('button', { name: 'I have copied them' }).click();
    await page.getByRole('cell', { name: /1 deployments/ }).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Send sample to Pull requests of ci-e2e' }).click();
    await page.getByText(/Sample to pullRequests: HTTP 200/).waitFor();
    await page.getByRole('cell', { name: /1 pull requests/ }).waitFor({ timeout: 15_000 });

    await nav('DORA');
    await page.getByLabel('From').fill('2022-12-15');
    await page.getByLabel('To').fill(new Date().toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Apply dates' }).click();
    const deployments = page.getByRole('table', { name: 'Deployments in the window' });
    await deployments.getByRole('cell', { name: 'PRODUCTION', exact: true }).waitFor();
    await page
      .getByRole('article', { name: 'Deployment frequency' })
      .getByText(/deployments on/)
      .waitFor();
    await page.getByRole('radio', { name: 'DORA 2021' }).click();
    await page.getByRole('article', { name: 'Time to restore service' }).waitFor();
    await checkScreen('dora');
  });

  it('rotates a custom webhook secret: the next delivery carries two signatures', async () => {
    await nav('Webhooks');
    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByRole('radio', { name: 'Custom HTTP' }).click();
    await page.getByLabel('Name').fill('my service');
    await page.getByLabel('Custom HTTP webhook URL').fill(`${receiver.url}/custom`);
    await page.getByLabel(/^Issue created/).check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const first = ((await page.getByTestId('once-value').textContent()) ?? '').trim();
    expect(first).toMatch(/^whsec_/);
    await page.getByRole('link', { name: 'Open the webhook' }).click();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Rotate secret' }).click();
    const second = ((await page.getByTestId('once-value').textContent()) ?? '').trim();
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    await page.getByText(/The old secret keeps signing until/).waitFor();

    const before = receiver.requests.length;
    await admin.post('/v1/projects/demo/events', { type: 'bb.issue.create', title: 'After the rotation' });
    const signed = await eventually(() => receiver.requests.slice(before).find((r) => r.path === '/custom'), 10_000, 'the custom delivery');
    const signatures = String(signed.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((s) => s.startsWith('v1,'))).toBe(true);
  });

  it('has no serious or critical accessibility violation on the other screens', async () => {
    await nav('Overview');
    await page.getByText('Accepted and delivered per minute').waitFor();
    await checkScreen('overview');
    await nav('Events');
    await page
      .getByRole('link', { name: /./ })
      .filter({ has: page.locator('time') })
      .first()
      .click();
    await page.getByRole('heading', { name: /Deliveries \(\d+\)/ }).waitFor();
    await checkScreen('events');
    await nav('Admin');
    await page.getByRole('button', { name: 'Create API key' }).waitFor();
    await checkScreen('admin-api-keys');
    await page.getByRole('tab', { name: 'IM integrations' }).click();
    const slack = page.getByRole('region', { name: /^Slack/ });
    await slack.getByLabel('Bot token (xoxb-…)').fill('xoxb-console-e2e-0123456789');
    await slack.getByRole('button', { name: 'Save Slack' }).click();
    await slack.getByText('configured', { exact: true }).waitFor();
    await slack.getByText('****6789').waitFor();
    await slack.getByText(`${im.base}/slack`, { exact: true }).waitFor();
    // A self-hosted platform or a proxy: the optional API base, stored with the integration.
    const own = await FakeImApis.start();
    try {
      own.users.set('ann@example.com', 'U1');
      await slack.getByLabel('Bot token (xoxb-…)').fill('xoxb-console-e2e-0123456789');
      await slack.getByLabel('API base URL (optional)').fill(`${own.base}/slack`);
      await slack.getByRole('button', { name: 'Save Slack' }).click();
      await slack.getByText(`${own.base}/slack`, { exact: true }).waitFor();
      expect((await admin.get('/v1/integrations/im/slack')).body.apiBaseUrl).toBe(`${own.base}/slack`);
      await slack.getByLabel('Test: look up an email').fill('ann@example.com');
      await slack.getByRole('button', { name: 'Test Slack' }).click();
      await slack.getByText(/the slack app works: ann@example.com would get direct messages/).waitFor();
      expect(own.callsTo('slack', '/users.lookupByEmail')).toHaveLength(1);
      expect(im.callsTo('slack', '/users.lookupByEmail')).toHaveLength(0);
    } finally {
      await own.stop();
    }
    await checkScreen('admin-im');
  });

  it('hides what a project API key may not do, with the reason', async () => {
    const key = (await admin.post('/v1/projects/demo/api-keys', { name: 'console e2e' })).body.key as string;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token or project API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Project API key', { exact: true }).waitFor();
    await expect(page.getByRole('link', { name: 'Projects' })).toHaveCountSoon(0);
    await nav('Admin');
    await page.getByText(/Only the admin token can create or revoke API keys/).waitFor();
    expect(await page.getByRole('button', { name: 'Create API key' }).isDisabled()).toBe(true);
  });
});

/** Small waiting matchers over Playwright locators (Jest has no auto-waiting expect). */
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      toBeVisibleSoon(): Promise<R>;
      toHaveValueSoon(value: string): Promise<R>;
      toHaveCountSoon(count: number): Promise<R>;
    }
  }
}

type Loc = import('playwright-core').Locator;
const soon = async (check: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};
expect.extend({
  async toBeVisibleSoon(locator: Loc) {
    const pass = await soon(() => locator.isVisible());
    return { pass, message: () => `expected ${locator} to become visible` };
  },
  async toHaveValueSoon(locator: Loc, value: string) {
    const pass = await soon(async () => (await locator.inputValue()) === value);
    return { pass, message: () => `expected ${locator} to have value ${value}` };
  },
  async toHaveCountSoon(locator: Loc, count: number) {
    const pass = await soon(async () => (await locator.count()) === count);
    return { pass, message: () => `expected ${locator} to have ${count} elements` };
  },
});
