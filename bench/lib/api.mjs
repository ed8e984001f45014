// Minimal REST client for the load generators: node:http with keep-alive. fetch() cost the generator about three
// times the CPU per request (measured: ~200 vs ~60 us client+server on this machine), which made one generator
// process the bottleneck of the send shapes.
import http from 'node:http';

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

export async function registerUser(base, prefix = 'bench') {
  const name = `${prefix}${process.pid}_${Date.now() % 1e7}_${counter++}`;
  const res = await call(base, 'POST', '/auth/register', null, {
    username: name.slice(0, 32),
    email: `${name}@bench.test`,
    password: 'bench-password',
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.token, id: res.body.user.id };
}

/** A guild owned by the first user, joined by the others; returns its first text channel. */
export async function setupGuild(base, users) {
  const [owner, ...rest] = users;
  const guild = await call(base, 'POST', '/guilds', owner.token, { name: 'bench guild' });
  const channelId = guild.body.channels[0].id;
  const invite = await call(base, 'POST', `/channels/${channelId}/invites`, owner.token, { max_age: 0 });
  for (const u of rest) {
    const r = await call(base, 'POST', `/invites/${invite.body.code}`, u.token);
    if (r.status !== 200) throw new Error(`join failed: ${r.status}`);
  }
  return { guildId: guild.body.id, channelId, invite: invite.body.code };
}
