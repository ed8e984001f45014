import { atTime as at, type DomainServices, startDomainServices } from '../../support/domain-services';

/**
 * Accounts at the auth service on a real SQLite file: unique usernames and emails, logins, bearer tokens that
 * logout revokes and `auth.token_ttl` expires after their last use, and password changes that need the current
 * password and end the other sessions.
 */
describe('account rules (AuthService on SQLite)', () => {
  let s: DomainServices;
  const DAY_MS = 86_400_000;

  beforeAll(async () => {
    s = await startDomainServices({ auth: { token_ttl: DAY_MS } });
  });

  afterAll(async () => {
    await s?.close();
  });

  it('registration answers a token for the new account; usernames and emails are unique, emails in any case', async () => {
    const session = await s.auth.register({
      username: 'Acct_Alice',
      email: 'Alice@Example.TEST',
      password: 'password123',
    });
    expect(session.user).toMatchObject({ username: 'Acct_Alice', email: 'alice@example.test' });
    await expect(s.auth.verify(session.token ?? '')).resolves.toMatchObject({ userId: session.user.id });

    await expect(
      s.auth.register({ username: 'Acct_Alice', email: 'other@example.test', password: 'password123' }),
    ).rejects.toMatchObject({
      status: 409,
      code: 40009,
      errors: { username: [{ code: 'USERNAME_ALREADY_TAKEN' }] },
    });
    await expect(
      s.auth.register({ username: 'acct_alice2', email: 'ALICE@example.test', password: 'password123' }),
    ).rejects.toMatchObject({
      status: 409,
      code: 40010,
      errors: { email: [{ code: 'EMAIL_ALREADY_REGISTERED' }] },
    });
    // Nothing of the refused registrations was stored.
    await expect(s.auth.login({ login: 'acct_alice2', password: 'password123' })).rejects.toMatchObject({
      status: 401,
    });
  });

  it('logs in by username or email; a wrong password and an unknown login get the same answer', async () => {
    const { id, username } = await s.register('acct_bob');
    const byName = await s.auth.login({ login: username, password: 'password123' });
    const byEmail = await s.auth.login({
      login: `${username.toUpperCase()}@example.test`,
      password: 'password123',
    });
    expect([byName.user.id, byEmail.user.id]).toEqual([id, id]);
    expect(byName.token).not.toBe(byEmail.token);

    const refused = { status: 401, code: 40001, message: 'Invalid login or password' };
    await expect(s.auth.login({ login: username, password: 'wrong password' })).rejects.toMatchObject(
      refused,
    );
    await expect(s.auth.login({ login: 'acct_nobody', password: 'password123' })).rejects.toMatchObject(
      refused,
    );
  });

  it('logout revokes that token only', async () => {
    const { id, username, token } = await s.register('acct_carol');
    const second = (await s.auth.login({ login: username, password: 'password123' })).token;
    const verified = await s.auth.verify(token);
    expect(verified?.userId).toBe(id);
    await s.auth.logout(verified!.tokenHash, id);
    s.settle();
    await expect(s.auth.verify(token)).resolves.toBeNull();
    await expect(s.auth.verify(second)).resolves.toMatchObject({ userId: id });
    // Not a token at all.
    await expect(s.auth.verify('')).resolves.toBeNull();
    await expect(s.auth.verify('x'.repeat(129))).resolves.toBeNull();
  });

  it('a token expires auth.token_ttl after its last use, and stays expired', async () => {
    const issuedAt = Date.now();
    const { id, token } = await at(issuedAt, () => s.register('acct_dave'));
    // Each use slides the expiry: used just before it, the token lives another token_ttl from then.
    const lastUse = issuedAt + DAY_MS - 1;
    const finalUse = issuedAt + DAY_MS + 1;
    await expect(at(lastUse, () => s.auth.verify(token))).resolves.toMatchObject({ userId: id });
    await expect(at(finalUse, () => s.auth.verify(token))).resolves.toMatchObject({ userId: id });
    await expect(at(finalUse + DAY_MS, () => s.auth.verify(token))).resolves.toBeNull();
    // Removed once seen expired: turning the clock back does not revive it.
    await expect(at(finalUse, () => s.auth.verify(token))).resolves.toBeNull();
  });

  it('changing the password needs the current one; afterwards only the new one logs in, on this session only', async () => {
    const { id, username, token } = await s.register('acct_erin');
    const current = (await s.auth.verify(token))!.tokenHash;
    const elsewhere = (await s.auth.login({ login: username, password: 'password123' })).token;
    for (const current_password of [undefined, 'not my password'])
      await expect(
        s.auth.updateMe(id, current, { password: 'brand new secret', current_password }),
      ).rejects.toMatchObject({
        status: 400,
        code: 50035,
        errors: { current_password: [{ code: 'PASSWORD_DOES_NOT_MATCH' }] },
      });
    // A refused change ends nothing.
    await expect(s.auth.verify(elsewhere)).resolves.toMatchObject({ userId: id });

    await s.auth.updateMe(id, current, { password: 'brand new secret', current_password: 'password123' });
    s.settle();
    await expect(s.auth.login({ login: username, password: 'password123' })).rejects.toMatchObject({
      status: 401,
    });
    await expect(s.auth.login({ login: username, password: 'brand new secret' })).resolves.toMatchObject({
      user: { id },
    });
    // Whoever knew the old password is out everywhere but on the session that changed it.
    await expect(s.auth.verify(elsewhere)).resolves.toBeNull();
    await expect(s.auth.verify(token)).resolves.toMatchObject({ userId: id });
    // A username someone else holds is refused like at registration.
    const frank = await s.register('acct_frank');
    await expect(s.auth.updateMe(id, current, { username: frank.username })).rejects.toMatchObject({
      status: 409,
      code: 40009,
    });
  });
});
