import { Inject, Injectable } from '@nestjs/common';
import type { PublicUser } from '@parley/common';
import { toPublicUser } from '@parley/auth';
import { STORAGE, type Storage } from '@parley/storage';

/** Batch lookups of public user objects for embedding in responses and events. */
@Injectable()
export class UserDirectory {
  constructor(@Inject(STORAGE) private readonly storage: Storage) {}

  async many(ids: Iterable<string>): Promise<Map<string, PublicUser>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const users = await this.storage.users.findByIds(unique);
    return new Map(users.map((u) => [u.id, toPublicUser(u)]));
  }

  async one(id: string): Promise<PublicUser | null> {
    const user = await this.storage.users.findById(id);
    return user ? toPublicUser(user) : null;
  }
}
