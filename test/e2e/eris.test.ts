import { Agent as HttpsAgent } from 'node:https';
import { connect, type Socket } from 'node:net';
import Eris from 'eris';
import { Client, type ServerProcess, startServer, tempDir, waitFor } from './harness';

// Discord's application flags for privileged intents (GATEWAY_GUILD_MEMBERS, GATEWAY_MESSAGE_CONTENT).
const APP_FLAGS = (1 << 14) | (1 << 18);

/**
 * A second client library of another author than discord.js: Eris 0.18 from npm, unmodified, driving a short
 * smoke (login, ready with the guild, messageCreate from a person, send). Eris speaks HTTPS to a host name only
 * (no port, no http): its documented `agent` option is given an HTTPS agent whose connections are plain TCP to
 * the test server, which is the one piece of setup; its gateway URL comes from `GET /gateway/bot` as on Discord.
 */
describe('an unmodified Eris bot against Parley (SQLite)', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let owner: Client;
  let bot: Eris.Client | null = null;
  let agent: HttpsAgent | null = null;
  let guildId: string;
  let generalId: string;
  let appId: string;
  const received: Eris.Message[] = [];

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    owner = new Client(server.url);
    await owner.register('erisowner');
    const guild = await owner.post('/guilds', { name: 'Eris test' });
    guildId = guild.body.id;
    generalId = guild.body.channels.find((c: { name: string }) => c.name === 'general').id;
  });

  afterAll(async () => {
    bot?.disconnect({ reconnect: false });
    agent?.destroy();
    await server?.stop();
    dir.remove();
  });

  it('logs in, is ready with its guild, sees a message and sends one', async () => {
    const app = await owner.post('/applications', { name: 'Eris Bot', flags: APP_FLAGS });
    expect(app.status).toBe(201);
    appId = app.body.id;
    expect((await owner.put(`/guilds/${guildId}/members/${appId}`)).status).toBe(201);

    const { port } = new URL(server.url);
    // Eris' requests go to https://<domain><baseURL>: this agent carries them over plain TCP to the server.
    class PlainAgent extends HttpsAgent {
      override createConnection(): Socket {
        return connect(Number(port), '127.0.0.1');
      }
    }
    agent = new PlainAgent();
    bot = new Eris.Client(`Bot ${app.body.token as string}`, {
      intents: ['guilds', 'guildMessages', 'guildMembers', 'messageContent'],
      rest: { domain: `127.0.0.1:${port}`, baseURL: '/api/v10', agent },
      restMode: true,
      autoreconnect: false, // a failed login fails the test with its reason instead of retrying
    });
    const client = bot;
    client.on('messageCreate', (m: Eris.Message) => void received.push(m));
    const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
    await client.connect();
    await ready;
    expect(client.user.id).toBe(appId);
    expect(client.user.bot).toBe(true);
    await waitFor(() => client.guilds.get(guildId), 'GUILD_CREATE of the guild');
    expect(client.guilds.get(guildId)?.name).toBe('Eris test');

    const sent = await owner.post(`/channels/${generalId}/messages`, { content: 'hello eris' });
    const seen = await waitFor(() => received.find((m) => m.id === sent.body.id), 'messageCreate');
    expect(seen.content).toBe('hello eris');
    expect(seen.author.bot).toBe(false);
    expect(seen.createdAt).toBe(Date.parse(sent.body.timestamp));

    const reply = await client.createMessage(generalId, {
      content: 'hi from eris',
      embeds: [{ title: 'Eris', description: 'a second library' }],
    });
    const stored = await owner.get(`/channels/${generalId}/messages/${reply.id}`);
    expect(stored.body).toMatchObject({
      content: 'hi from eris',
      author: { id: appId, bot: true },
      embeds: [{ title: 'Eris', description: 'a second library' }],
    });
  });
});
