import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { JOB_QUEUE, type JobPayloads, type JobQueue } from '@parley/bus';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { createTransport, type Transporter } from 'nodemailer';

export type AccountMail = JobPayloads['mail.send'];

/**
 * Queues account mail. A request only enqueues: the SMTP exchange happens in the queue role's job, so a slow or
 * unreachable mail server never holds a request open, and a mail survives a restart until it is delivered.
 */
@Injectable()
export class Mailer {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly logger: AppLogger,
  ) {}

  /** Whether mail can be sent at all (`smtp.host` set). */
  get enabled(): boolean {
    return this.config.smtp.host !== '';
  }

  async send(mail: AccountMail): Promise<void> {
    if (!this.enabled) {
      this.logger.warn({ subject: mail.subject }, 'mail not sent: smtp.host is empty');
      return;
    }
    await this.jobs.enqueue('mail.send', mail);
  }
}

/** queue role: delivers `mail.send` jobs over SMTP; a failed delivery is retried by the job queue. */
@Injectable()
export class MailJobs implements OnModuleInit, OnApplicationShutdown {
  private transport: Transporter | undefined;

  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.register('mail.send', (mail) => this.deliver(mail));
  }

  async deliver(mail: AccountMail): Promise<void> {
    const { from } = this.config.smtp;
    await this.smtp().sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }

  private smtp(): Transporter {
    this.transport ??= smtpTransport(this.config.smtp);
    return this.transport;
  }
}

/** The SMTP connection of `smtp.*`, shared by account mail and notification mail. */
export function smtpTransport(smtp: ParleyConfig['smtp']): Transporter {
  const { host, port, secure, user, password } = smtp;
  return createTransport({
    host,
    port,
    secure,
    auth: user ? { user, pass: password } : undefined,
    // Bounded waits: a stuck server fails the job (retried later) instead of holding a worker slot.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}
