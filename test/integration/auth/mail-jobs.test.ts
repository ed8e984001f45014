import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mailer, MailJobs } from '@parley/auth';
import { DurableJobQueue } from '@parley/bus';
import { SnowflakeGenerator } from '@parley/common';
import { loadConfig, type ParleyConfig } from '@parley/config';
import { AppLogger, Metrics } from '@parley/observability';
import { SqliteStorage } from '@parley/storage';
import { startSmtpSink } from '../../support/smtp';
import { waitFor } from '../../support/wait';

/** Account mail end to end below HTTP: Mailer enqueues, the durable job delivers it to a real SMTP server. */
describe('account mail through the job queue', () => {
  let dir: string;
  let storage: SqliteStorage;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-mail-'));
    storage = new SqliteStorage({
      ...loadConfig({ env: {} }).database.sqlite,
      path: join(dir, 'jobs.db'),
      max_open_conns: 1,
    });
    await storage.migrate();
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const wire = (smtp: Partial<ParleyConfig['smtp']>) => {
    const config = loadConfig({ env: {}, overrides: { smtp } });
    const logger = new AppLogger('silent');
    const queue = new DurableJobQueue(storage, config, new SnowflakeGenerator(0, 3), logger, new Metrics());
    const jobs = new MailJobs(queue, config);
    jobs.onModuleInit();
    return { queue, jobs, mailer: new Mailer(queue, config, logger) };
  };

  it('delivers a queued mail over SMTP, authenticated, from smtp.from', async () => {
    const smtp = await startSmtpSink();
    const { queue, jobs, mailer } = wire({
      host: '127.0.0.1',
      port: smtp.port,
      user: 'parley',
      password: 'mail-secret',
      from: 'Parley <noreply@chat.example.org>',
    });
    await mailer.send({
      to: 'alice@example.org',
      subject: 'Verify your account',
      text: 'https://x/verify?token=t',
    });
    expect(smtp.mails).toHaveLength(0); // only enqueued: no SMTP exchange on the caller's path
    await queue.drain();

    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail.subject).toBe('Verify your account');
    expect(mail.from?.value[0]?.address).toBe('noreply@chat.example.org');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined).toBe(
      'alice@example.org',
    );
    expect(mail.text?.trim()).toBe('https://x/verify?token=t');
    expect(smtp.logins).toEqual(['parley:mail-secret']);
    expect(await storage.jobs.counts()).toEqual({ pending: 0, dead: 0 });
    jobs.onApplicationShutdown();
    await queue.onApplicationShutdown();
    await smtp.stop();
  });

  it('keeps the mail queued while the SMTP server is down and delivers it once it is back', async () => {
    const smtp = await startSmtpSink();
    const port = smtp.port;
    await smtp.stop();
    const { queue, jobs, mailer } = wire({ host: '127.0.0.1', port });
    await mailer.send({ to: 'bob@example.org', subject: 'Reset your password', text: 'reset link' });
    await queue.drain();
    expect(await storage.jobs.counts()).toEqual({ pending: 1, dead: 0 });
    jobs.onApplicationShutdown();
    await queue.onApplicationShutdown();

    // The server back on the same port: the job's retry (after its backoff) delivers the mail.
    const back = await startSmtpSink(port);
    const retry = wire({ host: '127.0.0.1', port });
    await waitFor(async () => {
      await retry.queue.drain();
      return back.mails.length > 0;
    }, 'the retried mail job delivers');
    expect(back.mails.map((m) => m.subject)).toEqual(['Reset your password']);
    expect(await storage.jobs.counts()).toEqual({ pending: 0, dead: 0 });
    retry.jobs.onApplicationShutdown();
    await retry.queue.onApplicationShutdown();
    await back.stop();
  });

  it('sends nothing and queues nothing while smtp.host is empty', async () => {
    const { queue, mailer } = wire({ host: '' });
    expect(mailer.enabled).toBe(false);
    await mailer.send({ to: 'carol@example.org', subject: 'Hello', text: 'x' });
    expect(await storage.jobs.counts()).toEqual({ pending: 0, dead: 0 });
    await queue.onApplicationShutdown();
  });
});
