import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { STORAGE, type Storage } from '@parley/storage';
import { generateVAPIDKeys } from 'web-push';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
}

/** The name of the stored key pair in `instance_secrets`. */
export const VAPID_SECRET = 'vapid_keys';

/**
 * The instance's VAPID key pair (RFC 8292): from config when set, else generated once and kept in storage so that
 * every process (api answers the public key, queue signs the pushes) and every restart uses the same pair; a
 * browser's subscription is bound to the public key it was made with. The first process to store a pair wins.
 */
@Injectable()
export class VapidKeyring {
  private loading: Promise<VapidKeys> | null = null;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(STORAGE) private readonly storage: Storage,
  ) {}

  keys(): Promise<VapidKeys> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = null; // a storage hiccup is tried again on the next call
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<VapidKeys> {
    const push = this.config.notifications.push;
    const subject =
      push.vapid_subject ||
      (this.config.auth.public_url.startsWith('https://')
        ? this.config.auth.public_url
        : 'mailto:parley@localhost');
    if (push.vapid_public_key && push.vapid_private_key)
      return { publicKey: push.vapid_public_key, privateKey: push.vapid_private_key, subject };
    const stored = await this.storage.push.getSecret(VAPID_SECRET);
    const secret =
      stored ??
      (await this.storage.push.putSecretIfAbsent({
        name: VAPID_SECRET,
        value: JSON.stringify(generateVAPIDKeys()),
        createdAt: Date.now(),
      }));
    const pair = JSON.parse(secret.value) as { publicKey: string; privateKey: string };
    return { publicKey: pair.publicKey, privateKey: pair.privateKey, subject };
  }
}
