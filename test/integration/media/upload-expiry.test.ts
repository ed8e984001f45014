import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnclaimedUploadSweeper } from '@parley/media';
import { writeMaintenance } from '@parley/platform';
import { STORAGE, type Storage } from '@parley/storage';
import { type Account, Api, type TestServer, startServer, waitFor } from '../gateway/harness';
import { pause } from '../../support/wait';

interface Uploaded {
  id: string;
  url: string;
}

/**
 * The unattached-upload expiry sweep in the monolith, over real HTTP, on a real SQLite file and the local
 * file store driver (files on disk).
 */
describe('unattached uploads expire', () => {
  const files = mkdtempSync(join(tmpdir(), 'parley-upload-expiry-'));
  const TTL = 60_000;
  let server: TestServer;
  let api: Api;
  let storage: Storage;
  let sweeper: UnclaimedUploadSweeper;
  let owner: Account;
  let guild: { id: string; general: string };

  const upload = async (account: Account, channelId: string, name: string): Promise<Uploaded> => {
    const form = new FormData();
    form.append('file', new Blob([`contents of ${name}`], { type: 'text/plain' }), name);
    const res = await fetch(`${server.url}/api/v1/channels/${channelId}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${account.token}` },
      body: form,
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Uploaded;
  };
  const fileOf = (channelId: string, id: string) => join(files, 'attachments', channelId, id);
  const send = (channelId: string, ids: string[]) =>
    api.call('POST', `/channels/${channelId}/messages`, owner.token, { content: 'x', attachment_ids: ids });

  beforeAll(async () => {
    server = await startServer(
      {},
      { storage: { local: { path: files } }, media: { unattached_upload_ttl: TTL } },
    );
    api = new Api(server.url);
    storage = server.app.get<Storage>(STORAGE);
    sweeper = server.app.get(UnclaimedUploadSweeper);
    owner = await api.register('ue_owner');
    guild = await api.guild(owner);
  });

  afterAll(async () => {
    await server?.close();
    rmSync(files, { recursive: true, force: true });
  });

  it('deletes the file and the record of an upload no message claimed within the expiry, and only those', async () => {
    const stale = await upload(owner, guild.general, 'stale.txt');
    const used = await upload(owner, guild.general, 'used.txt');
    expect((await send(guild.general, [used.id])).status).toBe(200);
    expect(existsSync(fileOf(guild.general, stale.id))).toBe(true);
    expect((await fetch(`${server.url}${stale.url}`)).status).toBe(200);

    // Not yet expired: nothing goes.
    expect(await sweeper.sweep(Date.now() + TTL / 2)).toBe(0);
    expect(await storage.attachments.find(stale.id)).not.toBeNull();

    // Expiry reached for what was uploaded before `cut`, not for the upload after it.
    // The clock moves on both sides of `cut`, so the uploads fall clearly before and after it.
    await pause(20);
    const cut = Date.now();
    await pause(20);
    const fresh = await upload(owner, guild.general, 'fresh.txt');
    expect(await sweeper.sweep(cut + TTL)).toBe(1);

    expect(await storage.attachments.find(stale.id)).toBeNull();
    expect(existsSync(fileOf(guild.general, stale.id))).toBe(false);
    expect((await fetch(`${server.url}${stale.url}`)).status).toBe(404);
    // Claiming it now fails like any unknown upload.
    expect((await send(guild.general, [stale.id])).status).toBe(400);

    // The attached upload and the younger one are untouched.
    expect(existsSync(fileOf(guild.general, used.id))).toBe(true);
    expect(await storage.attachments.find(used.id)).not.toBeNull();
    expect(existsSync(fileOf(guild.general, fresh.id))).toBe(true);
    expect((await send(guild.general, [fresh.id])).status).toBe(200);
  });

  it('writes nothing while the instance is in maintenance mode', async () => {
    const waiting = await upload(owner, guild.general, 'waiting.txt');
    await writeMaintenance(storage.instanceSettings, { enabled: true, since: Date.now(), message: 'test' });
    try {
      expect(await sweeper.sweep(Date.now() + TTL * 2)).toBe(0);
      expect(await storage.attachments.find(waiting.id)).not.toBeNull();
    } finally {
      await writeMaintenance(storage.instanceSettings, { enabled: false, since: null, message: null });
    }
    expect(await sweeper.sweep(Date.now() + TTL * 2)).toBe(1);
    expect(existsSync(fileOf(guild.general, waiting.id))).toBe(false);
  });
});

describe('unattached uploads expire by themselves (the periodic sweep)', () => {
  const files = mkdtempSync(join(tmpdir(), 'parley-upload-expiry-'));
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(
      {},
      { storage: { local: { path: files } }, media: { unattached_upload_ttl: 1500 } },
    );
  });

  afterAll(async () => {
    await server?.close();
    rmSync(files, { recursive: true, force: true });
  });

  it('removes an unclaimed upload within about the expiry plus a quarter of it', async () => {
    const api = new Api(server.url);
    const owner = await api.register('ue_timer');
    const guild = await api.guild(owner);
    const form = new FormData();
    form.append('file', new Blob(['bytes'], { type: 'text/plain' }), 'soon-gone.txt');
    const res = await fetch(`${server.url}/api/v1/channels/${guild.general}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const path = join(files, 'attachments', guild.general, id);
    expect(existsSync(path)).toBe(true);
    const storage = server.app.get<Storage>(STORAGE);
    await waitFor(() => !existsSync(path), 'the sweep deleted the file', 10_000);
    expect(await storage.attachments.find(id)).toBeNull();
  });
});
