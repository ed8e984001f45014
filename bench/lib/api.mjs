// Minimal REST client for the load generators (keep-alive via undici's global dispatcher).
let counter = 0;

export async function call(base, method, path, token, body) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
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
