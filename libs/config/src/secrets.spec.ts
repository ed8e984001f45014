import { loadConfig } from './loader';
import { maskCredentials, maskedConfigJson } from './secrets';

describe('maskCredentials', () => {
  it('masks passwords and tokens inside URLs and query strings, leaving the rest readable', () => {
    expect(maskCredentials('redis://:hunter2@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(maskCredentials('redis://app:hunter2@cache:6379')).toBe('redis://app:***@cache:6379');
    expect(maskCredentials('nats://s3cr3t@nats:4222')).toBe('nats://***@nats:4222');
    expect(maskCredentials('cannot reach Redis at rediss://u:p%40ss@h:1 (redis.url)')).toBe(
      'cannot reach Redis at rediss://u:***@h:1 (redis.url)',
    );
    expect(maskCredentials('https://h/x?a=1&token=abc&b=2')).toBe('https://h/x?a=1&token=***&b=2');
    expect(maskCredentials('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});

describe('maskedConfigJson', () => {
  it('masks the SMTP password and leaves the rest of smtp readable', () => {
    const config = loadConfig({
      env: {},
      overrides: { smtp: { host: 'mail.example.org', user: 'parley', password: 'smtp-hunter2' } },
    });
    const shown = JSON.parse(maskedConfigJson(config)) as { smtp: Record<string, unknown> };
    expect(shown.smtp).toMatchObject({ host: 'mail.example.org', user: 'parley', password: '***' });
    expect(maskedConfigJson(config)).not.toContain('smtp-hunter2');
  });
});
