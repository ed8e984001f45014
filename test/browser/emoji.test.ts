import type { Locator } from 'playwright-core';
import sharp from 'sharp';
import type { Client } from '../e2e/harness';
import { type GuildStage, type InPageImage, message, openGuildStage, type Person } from './browser';

// Custom emoji in real headless Chromium against the compiled monolith: upload one in guild settings, write it
// as :name: in a message and see its image, react with it from the picker's guild section.
jest.setTimeout(120_000);

let stage: GuildStage;
let alice: Person;
let api: Client;
let guildId = '';
let general = '';
let pageErrors: string[] = [];

/** Waits until the image has loaded and decoded (a broken or blocked one has naturalWidth 0). */
async function loaded(img: Locator): Promise<void> {
  await img.waitFor();
  await img.evaluate(
    (el) =>
      new Promise<void>((resolve, reject) => {
        const image = el as unknown as InPageImage & {
          addEventListener(type: string, fn: () => void): void;
        };
        if (image.complete) return image.naturalWidth > 0 ? resolve() : reject(new Error('broken image'));
        image.addEventListener('load', () => resolve());
        image.addEventListener('error', () => reject(new Error('broken image')));
      }),
  );
}

beforeAll(async () => {
  stage = await openGuildStage('emoji', 'Aviary');
  ({ alice, api, guildId, general, pageErrors } = stage);
});

afterAll(async () => {
  await stage?.close();
});

describe('custom emoji in the web client', () => {
  test('uploads in settings, shows it in a message, reacts with it from the picker', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();

    // Upload: the name comes from the file name.
    await page.getByRole('button', { name: 'Guild settings' }).click();
    await page.getByRole('tab', { name: 'Emoji' }).click();
    const png = await sharp({ create: { width: 96, height: 96, channels: 4, background: '#ff8800' } })
      .png()
      .toBuffer();
    await page
      .getByLabel('Image')
      .setInputFiles({ name: 'party-parrot.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const row = page.getByRole('list', { name: 'Emoji' }).getByRole('listitem');
    await row.getByRole('button', { name: 'Delete :party_parrot:' }).waitFor();
    await loaded(row.locator('img').first());
    const [emoji] = (await api.get<{ id: string; name: string }[]>(`/guilds/${guildId}/emojis`)).body;
    expect(emoji.name).toBe('party_parrot');
    await page.getByRole('button', { name: 'Close', exact: true }).click();

    // Written as :name: (suggested while typing), sent as <:name:id>, shown as its image.
    const box = page.getByRole('textbox', { name: /^Message/ });
    await box.click();
    await box.pressSequentially('look :party');
    await page
      .getByRole('listbox', { name: 'Emoji' })
      .getByRole('option', { name: /party_parrot/ })
      .waitFor();
    await box.press('Tab');
    await box.pressSequentially('here');
    await box.press('Enter');
    const sent = message(page, 'look');
    const inline = sent.locator('img.md-emoji[alt=":party_parrot:"]');
    await loaded(inline);
    const history = await api.get<{ content: string }[]>(`/channels/${general}/messages?limit=1`);
    expect(history.body[0].content).toBe(`look <:party_parrot:${emoji.id}> here`);

    // React from the picker's guild section.
    await sent.hover();
    await sent.getByRole('button', { name: 'Add reaction' }).click();
    const picker = page.getByRole('dialog', { name: 'Pick a reaction' });
    await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('party_parrot');
    await picker.getByRole('button', { name: ':party_parrot:' }).first().click();
    const reaction = sent.getByRole('button', { name: ':party_parrot: 1' });
    await reaction.waitFor();
    expect(await reaction.getAttribute('aria-pressed')).toBe('true');
    await loaded(reaction.locator('img'));
    const reacted = await api.get<{ reactions: unknown[] }[]>(`/channels/${general}/messages?limit=1`);
    expect(reacted.body[0].reactions).toEqual([
      { emoji: { id: emoji.id, name: 'party_parrot', animated: false }, count: 1, me: true },
    ]);
    expect(pageErrors).toEqual([]);
  });
});
