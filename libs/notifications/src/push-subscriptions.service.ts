import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { ValidationError } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { isForbiddenAddress } from '@parley/media';
import { STORAGE, type Storage } from '@parley/storage';
import { z } from 'zod';

const base64url = /^[A-Za-z0-9_-]+={0,2}$/;
const decodedLength = (value: string): number => Buffer.from(value, 'base64url').length;

/** A Web Push API subscription as `PushSubscription.toJSON()` gives it. */
export const pushSubscriptionBody = z.object({
  endpoint: z.url({ protocol: /^https?$/ }).max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    // The device's uncompressed P-256 public key (65 bytes) and its 16-byte auth secret (RFC 8291).
    p256dh: z
      .string()
      .max(128)
      .regex(base64url, 'must be base64url')
      .refine((v) => decodedLength(v) === 65, 'must be an uncompressed P-256 public key (65 bytes)'),
    auth: z
      .string()
      .max(64)
      .regex(base64url, 'must be base64url')
      .refine((v) => decodedLength(v) === 16, 'must be a 16-byte auth secret'),
  }),
});

export const pushUnsubscribeBody = z.object({ endpoint: z.string().min(1).max(2048) });

/** The row key of an endpoint: subscribing the same device again lands on the same row. */
export const endpointId = (endpoint: string): string =>
  createHash('sha256').update(endpoint).digest('hex').slice(0, 32);

/** Each user's push devices: subscribe (upsert, capped), unsubscribe. */
@Injectable()
export class PushSubscriptions {
  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(STORAGE) private readonly storage: Storage,
  ) {}

  async subscribe(userId: string, body: z.infer<typeof pushSubscriptionBody>): Promise<void> {
    const url = new URL(body.endpoint);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const admitted = this.config.notifications.push.allow_private_hosts.some(
      (h) => h.toLowerCase() === host.toLowerCase(),
    );
    // Names are checked again at each delivery (after resolution); an address literal can be refused now.
    if (!admitted && ((isIP(host) !== 0 && isForbiddenAddress(host)) || host === 'localhost'))
      throw ValidationError.field('endpoint', 'URL_TYPE_INVALID', 'The push service address is not allowed');
    if (url.username || url.password)
      throw ValidationError.field('endpoint', 'URL_TYPE_INVALID', 'The endpoint must not carry credentials');
    const id = endpointId(body.endpoint);
    const existing = await this.storage.push.listSubscriptions(userId);
    const others = existing.filter((s) => s.endpointId !== id).sort((a, b) => a.createdAt - b.createdAt);
    // Past the cap, the oldest devices make room (a browser that was reset never unsubscribed).
    const excess = others.length + 1 - this.config.notifications.push.max_subscriptions;
    for (const old of others.slice(0, Math.max(0, excess)))
      await this.storage.push.deleteSubscription(userId, old.endpointId);
    await this.storage.push.putSubscription({
      userId,
      endpointId: id,
      endpoint: body.endpoint,
      p256dh: body.keys.p256dh,
      auth: body.keys.auth,
      createdAt: Date.now(),
    });
  }

  async unsubscribe(userId: string, endpoint: string): Promise<void> {
    await this.storage.push.deleteSubscription(userId, endpointId(endpoint));
  }
}
