import type { Client } from '../e2e/harness';
import { type GuildStage, message, openGuildStage, type Person } from './browser';

// Pins in real headless Chromium against the compiled monolith: pin from a message's toolbar, the pinned
// messages panel (reloaded live by CHANNEL_PINS_UPDATE), unpin from the panel.
jest.setTimeout(120_000);

let stage: GuildStage;
let alice: Person;
let api: Client;
let guildId = '';
let general = '';
let later = '';
let pageErrors: string[] = [];

beforeAll(async () => {
  stage = await openGuildStage('pins', 'Harbour');
  ({ alice, api, guildId, general, pageErrors } = stage);
  const send = async (content: string) =>
    (await api.post<{ id: string }>(`/channels/${general}/messages`, { content })).body.id;
  await send('Ferry times: 9:00 and 17:00');
  later = await send('Harbour closed <b>Sunday</b>');
});

afterAll(async () => {
  await stage?.close();
});

describe('pins in the web client', () => {
  test('pins from the toolbar, lists pins live, unpins from the panel', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();

    const ferry = message(page, 'Ferry times: 9:00 and 17:00');
    await ferry.hover();
    await ferry.getByRole('button', { name: 'Pin message' }).click();
    // The MESSAGE_UPDATE turns the button into Unpin.
    await ferry.hover();
    await ferry.getByRole('button', { name: 'Unpin message' }).waitFor();

    await page.getByRole('button', { name: 'Pinned messages' }).click();
    const pins = page.getByRole('list', { name: 'Pins' }).getByRole('listitem');
    await pins.filter({ hasText: 'Ferry times' }).waitFor();

    // A pin made elsewhere shows up in the open panel (CHANNEL_PINS_UPDATE), its text as text.
    expect((await api.put(`/channels/${general}/pins/${later}`)).status).toBe(204);
    await pins.filter({ hasText: 'Harbour closed <b>Sunday</b>' }).waitFor();
    expect(await pins.allInnerTexts()).toEqual([
      expect.stringContaining('Harbour closed <b>Sunday</b>'),
      expect.stringContaining('Ferry times'),
    ]);

    await pins.filter({ hasText: 'Ferry times' }).getByRole('button', { name: 'Unpin' }).click();
    await pins.filter({ hasText: 'Ferry times' }).waitFor({ state: 'detached' });
    expect(await pins.count()).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});
