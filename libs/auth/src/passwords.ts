import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import * as argon2 from 'argon2';

/** argon2id with costs from config (OWASP's 19 MiB, t=2, p=1 by default). */
@Injectable()
export class PasswordHasher {
  private dummy: Promise<string> | null = null;

  constructor(@Inject(PARLEY_CONFIG) private readonly config: ParleyConfig) {}

  hash(password: string): Promise<string> {
    const { memory_cost, time_cost, parallelism } = this.config.auth.argon2;
    return argon2.hash(password, {
      type: argon2.argon2id,
      memoryCost: memory_cost,
      timeCost: time_cost,
      parallelism,
    });
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  /** Spends the same time as a real verification, so unknown logins are not told apart by timing. */
  async verifyNothing(password: string): Promise<false> {
    this.dummy ??= this.hash('parley-timing-equaliser');
    await this.verify(await this.dummy, password);
    return false;
  }
}
