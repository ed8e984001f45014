import { Mailer, MailJobs } from '@parley/auth';
import { JetStreamJobQueue, NatsLink } from '@parley/bus';
import type { ParleyConfig } from '@parley/config';
import { AppLogger, Metrics } from '@parley/observability';
import { startSmtpSink, type SmtpSink } from '../../support/smtp';
import { waitFor } from '../../support/wait';
import { microservicesConfig, purgePrefix, requireSharedServices, uniquePrefix } from './processes';

/** Microservices: the api enqueues account mail on JetStream, the queue role's worker delivers it over SMTP. */
describe('account mail on JetStream', () => {
  const prefix = uniquePrefix();
  const log = new AppLogger('silent');
  let config: ParleyConfig;
  let smtp: SmtpSink;
  let nats: NatsLink;

  beforeAll(async () => {
    await requireSharedServices();
    smtp = await startSmtpSink();
    config = microservicesConfig(prefix, {
      smtp: { host: '127.0.0.1', port: smtp.port, from: 'Parley <noreply@chat.example.org>' },
    });
    nats = await NatsLink.open(config, log, new Metrics(), 'mail-jobs-test');
  });

  afterAll(async () => {
    await nats.close();
    await smtp.stop();
    await purgePrefix(prefix);
  });

  it('delivers a mail enqueued by the api side through the queue role worker', async () => {
    const metrics = new Metrics();
    const producer = new JetStreamJobQueue(nats, config, log, metrics, { consume: false });
    await producer.init();
    const worker = new JetStreamJobQueue(nats, config, log, metrics, { consume: true });
    await worker.init();
    const jobs = new MailJobs(worker, config);
    jobs.onModuleInit();
    worker.start();

    await new Mailer(producer, config, log).send({
      to: 'dana@example.org',
      subject: 'Verify your account',
      text: 'link',
    });
    await waitFor(() => smtp.mails.length === 1, 'the SMTP sink received the mail');
    expect(smtp.mails[0]?.subject).toBe('Verify your account');
    expect(smtp.mails[0]?.from?.value[0]?.address).toBe('noreply@chat.example.org');
    await waitFor(async () => {
      const depth = await worker.depth();
      return depth.pending === 0 && depth.inFlight === 0 && depth.dead === 0;
    }, 'the work queue is empty');
    jobs.onApplicationShutdown();
    await worker.stop();
  });
});
