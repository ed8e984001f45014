import { createHash } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';
import type { Browser, Page } from 'playwright-core';
import { Client, startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { launchBrowser, openPerson, requireBrowserSetup, seeText } from './browser';

// Voice in the web client, in real headless Chromium against the compiled monolith. There is no LiveKit server on
// this machine, so the media path itself is not exercised here: what is proven is the channel list, the clear
// message when voice is not configured, and who is in a channel following the server's VOICE_STATE_UPDATE (made
// from a signed LiveKit webhook, as LiveKit sends them).
jest.setTimeout(120_000);

const LK_KEY = 'browser-livekit-key';
const LK_SECRET = 'browser-livekit-secret-0123456789abcdef';

let dir: { path: string; remove: () => void };
let server: ServerProcess;
let browser: Browser;

async function setUp(env: Record<string, string>): Promise<{ page: Page; voiceId: string; bobId: string }> {
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley-${Object.keys(env).length}.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    ...env,
  });
  const api = new Client(server.url);
  await api.register('alice');
  const guild = await api.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: 'Harbour',
  });
  const general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';
  const voiceId = (
    await api.post<{ id: string }>(`/guilds/${guild.body.id}/channels`, { name: 'Lounge', type: 2 })
  ).body.id;
  const invite = await api.post<{ code: string }>(`/channels/${general}/invites`, {});
  const bob = new Client(server.url);
  const bobId = (await bob.register('bob')).id;
  await bob.post(`/invites/${invite.body.code}`);
  const person = await openPerson(browser, server.url, { width: 1280, height: 800 });
  await person.page.addInitScript((token: string) => localStorage.setItem('parley.token', token), api.token!);
  await person.page.goto(`/channels/${guild.body.id}/${general}`);
  await person.page.getByRole('heading', { name: 'general', exact: true }).waitFor();
  return { page: person.page, voiceId, bobId };
}

async function webhook(event: 'participant_joined' | 'participant_left', room: string, identity: string) {
  const body = JSON.stringify({
    event,
    room: { name: room },
    participant: { sid: `PA_${identity}`, identity, permission: { canPublish: true } },
  });
  const token = new AccessToken(LK_KEY, LK_SECRET);
  token.sha256 = createHash('sha256').update(body).digest('base64');
  const res = await fetch(`${server.url}/api/v1/voice/livekit/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/webhook+json', authorization: await token.toJwt() },
    body,
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-voice-');
  browser = await launchBrowser();
});

afterEach(async () => {
  await server?.stop();
});

afterAll(async () => {
  await browser?.close();
  dir?.remove();
});

describe('voice channels in the web client', () => {
  test('joining where voice is not configured says so clearly', async () => {
    const { page } = await setUp({});
    await page.getByRole('button', { name: 'Join voice channel Lounge' }).click();
    const panel = page.getByRole('region', { name: 'Voice' });
    await seeText(panel.getByRole('alert'), /Voice is not set up on this server/);
    await panel.getByRole('button', { name: 'Dismiss' }).click();
    await panel.waitFor({ state: 'detached' });
  });

  test('who is in a voice channel follows VOICE_STATE_UPDATE', async () => {
    // Keys without a URL: the webhook is verified, joins still answer 503 (no LiveKit to send people to).
    const { page, voiceId, bobId } = await setUp({
      PARLEY__VOICE__LIVEKIT__API_KEY: LK_KEY,
      PARLEY__VOICE__LIVEKIT__API_SECRET: LK_SECRET,
    });
    const occupants = page.getByRole('list', { name: 'In the voice channel' });
    await webhook('participant_joined', voiceId, bobId);
    await seeText(occupants, 'bob');
    await webhook('participant_left', voiceId, bobId);
    await occupants.waitFor({ state: 'detached' });
  });
});
