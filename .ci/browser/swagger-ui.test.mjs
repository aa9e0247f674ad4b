// The Swagger UI as a person uses it, in Debian's headless Chromium: start a real
// `exsync serve` on a free loopback port with a known admin token, register a space
// through the API, then in the browser load /swagger-ui/, press Authorize and paste the
// token, and through "Try it out" run one GET that succeeds and one PUT that fails,
// checking the status and body the page shows. Exits non-zero on any failure.
//
// Usage: node swagger-ui.test.mjs [path of the exsync binary]
// (default ../../target/debug/exsync; CHROMIUM overrides /usr/bin/chromium).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const binary = resolve(process.argv[2] ?? join(here, '../../target/debug/exsync'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WAIT = 15_000; // per step, ms
const started = Date.now();

const work = mkdtempSync(join(tmpdir(), 'exsync-browser-'));
const token = randomBytes(24).toString('hex'); // 48 characters; exsync wants at least 32
const SPACE = 'browser-test';

let server;
let browser;

function step(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

/** Starts `exsync serve` on 127.0.0.1:0 and resolves with its base URL, read from its
 *  JSON log line "exsync is listening". */
function startExsync() {
  return new Promise((resolveBase, reject) => {
    server = spawn(binary, ['serve'], {
      env: {
        ...process.env,
        EXSYNC_BIND: '127.0.0.1:0',
        EXSYNC_DATA_DIR: join(work, 'data'),
        EXSYNC_ADMIN_TOKEN: token,
        EXSYNC_LOG: 'info',
        EXSYNC_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    server.on('error', reject);
    server.on('exit', (code) => reject(new Error(`exsync exited early with ${code}`)));
    let pending = '';
    server.stderr.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        let event;
        try {
          event = JSON.parse(line);
        } catch {
          continue;
        }
        const message = event.message ?? event.fields?.message;
        const address = event.address ?? event.fields?.address;
        if (message === 'exsync is listening' && address) {
          resolveBase(`http://${address}`);
        }
      }
    });
  });
}

async function api(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  }
}

/** Expands an operation, presses "Try it out", fills the path parameters and the body,
 *  presses Execute and returns the status and body the page shows. */
async function tryItOut(page, operation, parameters, body) {
  const block = page.locator(`#operations-${operation}`);
  await block.locator('.opblock-summary').first().click();
  await block.locator('button.try-out__btn').click();
  for (const [name, value] of Object.entries(parameters)) {
    await block.locator(`tr[data-param-name="${name}"] input`).fill(value);
  }
  if (body !== undefined) {
    await block.locator('textarea.body-param__text').fill(body);
  }
  await block.locator('button.execute').click();
  const live = block.locator('.live-responses-table .response');
  await live.first().waitFor({ timeout: WAIT });
  const status = (await live.locator('.response-col_status').first().innerText()).trim();
  const shown = await live.locator('.response-col_description .microlight').first().innerText();
  const curl = await block.locator('.curl-command').first().innerText();
  return { status, shown, curl };
}

function expect(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

async function main() {
  const overall = setTimeout(() => {
    console.error('browser test: over 60 s, giving up');
    cleanUp().finally(() => process.exit(1));
  }, 60_000);
  step(`starting ${binary}`);
  const base = await startExsync();
  step(`exsync is listening at ${base}`);
  await api(base, 'POST', '/api/v1/spaces', {
    id: SPACE,
    name: 'Browser Test',
    pipeliner: {
      service_url: 'https://eu-central.api.pipelinersales.com',
      space_id: 'nl_BrowserTest',
      api_key: 'browser-key',
      api_secret: 'browser-secret',
    },
    microsoft: {
      tenant_id: '00000000-0000-4000-8000-000000000001',
      client_id: '00000000-0000-4000-8000-000000000002',
      client_secret: 'browser-graph-secret',
    },
  });

  // A fresh profile (--user-data-dir) in the temporary directory; playwright passes it.
  browser = await chromium.launchPersistentContext(join(work, 'chromium'), {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(WAIT);
  await page.goto(`${base}/swagger-ui/`);
  await page.locator('.swagger-ui .information-container .title').waitFor();
  const title = await page.locator('.swagger-ui .information-container .title').innerText();
  step(`Swagger UI loaded: ${title.split('\n')[0].trim()}`);

  await page.locator('.scheme-container button.authorize').click();
  const modal = page.locator('.modal-ux');
  const admin = modal.locator('form').filter({ hasText: 'admin_token' });
  await admin.locator('input').fill(token);
  await admin.locator('button.authorize').click();
  // Once set, "Logout" replaces "Authorize" in the admin token's form.
  await admin.getByRole('button', { name: 'Remove authorization' }).waitFor();
  await modal.locator('button.close-modal').click();
  step('authorized with the admin token');

  const got = await tryItOut(page, 'spaces-get_space', { space: SPACE });
  step(`GET /api/v1/spaces/${SPACE} shows ${got.status}`);
  expect(got.status === '200', `GET: expected 200, the page shows ${got.status}: ${got.shown}`);
  expect(JSON.parse(got.shown).id === SPACE, `GET: expected the space, the page shows ${got.shown}`);
  expect(got.curl.includes(`Bearer ${token}`), `GET: the request did not carry the token: ${got.curl}`);

  const put = await tryItOut(
    page,
    'spaces-set_integration',
    { space: 'no-such-space' },
    '{"enabled": true}',
  );
  step(`PUT /api/v1/spaces/no-such-space/integration shows ${put.status}`);
  expect(put.status === '404', `PUT: expected 404, the page shows ${put.status}: ${put.shown}`);
  const error = JSON.parse(put.shown);
  expect(error.code === 'space_not_found', `PUT: expected space_not_found, the page shows ${put.shown}`);
  expect(typeof error.message === 'string' && error.message.length > 0, `PUT: no message in ${put.shown}`);
  clearTimeout(overall);
}

async function cleanUp() {
  if (browser) {
    await browser.close().catch(() => {});
  }
  if (server && server.exitCode === null) {
    server.removeAllListeners('exit');
    const exited = new Promise((done) => server.once('exit', done));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
}

try {
  await main();
  await cleanUp();
  step('browser test passed');
} catch (e) {
  console.error(`browser test failed: ${e.stack ?? e}`);
  await cleanUp();
  process.exit(1);
}
