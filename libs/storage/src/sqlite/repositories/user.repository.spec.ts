import { SqliteDb } from '../connection';
import { SqliteStorage } from '../sqlite-storage';

describe('SqliteUserRepository.findByIds', () => {
  let storage: SqliteStorage;

  beforeEach(async () => {
    storage = new SqliteStorage({
      path: ':memory:',
      max_open_conns: 1,
      busy_timeout: 1000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL',
      wal_autocheckpoint: 1000,
    });
    await storage.migrate();
  });

  afterEach(() => storage.close());

  // A history page renders its authors with one lookup: found by the scale bench (50 statements per page).
  it('reads any number of users with one statement', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => String(1_000_000 + i));
    for (const [i, id] of ids.entries())
      await storage.users.create({
        id,
        username: `u${i}`,
        email: `u${i}@example.test`,
        displayName: null,
        avatar: null,
        passwordHash: 'x',
        createdAt: 0,
        emailVerified: true,
        mfaSecret: null,
        mfaBackupCodes: [],
      });
    const statements = jest.spyOn(SqliteDb.prototype, 'statement');
    const found = await storage.users.findByIds([...ids, '42']);
    expect(statements).toHaveBeenCalledTimes(1);
    statements.mockRestore();
    expect(found.map((u) => u.id).sort()).toEqual([...ids].sort());
    expect(found.find((u) => u.id === ids[7])?.username).toBe('u7');
  });
});
