// Minimal REST client for the load generators: node:http with keep-alive. fetch() cost the generator about three
// times the CPU per request (measured: ~200 vs ~60 us client+server on this machine), which made one generator
// process the bottleneck of the send shapes.
import http from 'node:http';
import { createGuild, registerAccount } from '../../test/support/rest.ts';

let counter = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function call(base, method, path, token, body) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let data;
    if (body !== undefined) {
      data = JSON.stringify(body);
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(data);
    }
    const req = http.request(`${base}/api/v1${path}`, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null });
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** A fresh account through the tests' fixtures, over this module's keep-alive transport. */
export async function registerUser(base, prefix = 'bench') {
  const name = `${prefix}${process.pid}_${Date.now() % 1e7}_${counter++}`;
  const account = await registerAccount(transport(base), name.slice(0, 32), 'bench-password');
  return { token: account.token, id: account.user.id };
}

/** A guild owned by the first user, joined by the others; returns its first text channel. */
export async function setupGuild(base, users) {
  const [owner, ...rest] = users;
  const guild = await createGuild(transport(base), owner, rest, {
    name: 'bench guild',
    invite: { max_age: 0 },
  });
  return { guildId: guild.id, channelId: guild.general, invite: guild.invite };
}

const transport = (base) => (method, path, token, body) => call(base, method, path, token, body);
