import { createHash } from 'node:crypto';
import type { MemberDto, PublicUser } from '@parley/common';
import { type OverwriteBits, Permission, PermissionCalculator, parsePermissions } from '@parley/common';
import { type ListMember, type ListOptions, type ListStatus, MemberList } from './member-list';

/** One member as the roster keeps it: what clients are shown, and its place in the lists. */
interface RosterEntry {
  dto: MemberDto;
  member: ListMember;
}

interface ListEntry<S> {
  list: MemberList<S>;
  bits: OverwriteBits[];
}

/** An overwrite as events (the REST shape) or storage (records) carry it. */
export interface AnyOverwrite {
  id: string;
  type: number;
  allow: string;
  deny: string;
}

export function sortNameOf(dto: MemberDto): string {
  return (dto.nick ?? dto.user.display_name ?? dto.user.username).toLowerCase();
}

/**
 * A guild's members in a gateway node's memory while some session here subscribes to one of its member lists:
 * every member (read from storage in pages on the first subscription, then kept from the guild's events), the
 * role permissions that decide each list's audience, and the lists themselves, one per audience (Discord's
 * list id: `everyone` when no overwrite touches VIEW_CHANNEL, else a hash of those overwrites), shared by every
 * channel with that audience. Parley's roles are not hoisted, so the groups are `online` and `offline`.
 */
export class GuildRoster<S> {
  private readonly members = new Map<string, RosterEntry>();
  private readonly lists = new Map<string, ListEntry<S>>();
  /** Subscriber -> the list id it watches (one channel per guild per session, as Discord has it). */
  readonly subscribers = new Map<S, { listId: string; channelId: string }>();

  constructor(
    readonly guildId: string,
    private ownerId: string,
    private readonly rolePermissions: Map<string, bigint>,
    private large: boolean,
  ) {}

  get size(): number {
    return this.members.size;
  }

  /** A member read from storage or told by an event (added, updated: nickname, roles, status). */
  put(dto: MemberDto, status: ListStatus): void {
    const member: ListMember = { userId: dto.user.id, sortName: sortNameOf(dto), roles: dto.roles, status };
    this.members.set(member.userId, { dto, member });
    for (const { list } of this.lists.values()) list.set(member.userId, member);
  }

  /** The member's status, if the roster has the member. */
  status(userId: string): ListStatus | undefined {
    return this.members.get(userId)?.member.status;
  }

  has(userId: string): boolean {
    return this.members.has(userId);
  }

  /** The member's user changed (`USER_UPDATE`: username, display name, avatar): its rows show it, in order. */
  setUser(user: PublicUser): void {
    const entry = this.members.get(user.id);
    if (!entry) return;
    this.put({ ...entry.dto, user }, entry.member.status);
  }

  setStatus(userId: string, status: ListStatus): void {
    const entry = this.members.get(userId);
    if (!entry || entry.member.status === status) return;
    this.put(entry.dto, status);
  }

  remove(userId: string): void {
    if (!this.members.delete(userId)) return;
    for (const { list } of this.lists.values()) list.set(userId, null);
  }

  setRole(roleId: string, permissions: bigint | null): void {
    if (permissions === null) this.rolePermissions.delete(roleId);
    else this.rolePermissions.set(roleId, permissions);
    this.resetAll();
  }

  setOwner(ownerId: string): void {
    if (ownerId === this.ownerId) return;
    this.ownerId = ownerId;
    this.resetAll();
  }

  setLarge(large: boolean): void {
    if (large === this.large) return;
    this.large = large;
    this.resetAll();
  }

  /** The list of a channel's audience, made on first use. */
  listFor(overwrites: readonly AnyOverwrite[]): MemberList<S> {
    const bits = viewBits(overwrites);
    const id = listIdOf(bits);
    let entry = this.lists.get(id);
    if (!entry) {
      entry = { list: new MemberList<S>(id, this.options(bits)), bits };
      this.lists.set(id, entry);
      entry.list.reset(this.options(bits), this.allMembers());
    }
    return entry.list;
  }

  list(id: string): MemberList<S> | undefined {
    return this.lists.get(id)?.list;
  }

  *allLists(): IterableIterator<MemberList<S>> {
    for (const { list } of this.lists.values()) yield list;
  }

  /** Drops lists no subscriber watches. */
  prune(): void {
    for (const [id, { list }] of this.lists) if (list.subscriberCount === 0) this.lists.delete(id);
  }

  private *allMembers(): IterableIterator<ListMember> {
    for (const { member } of this.members.values()) yield member;
  }

  private resetAll(): void {
    for (const entry of this.lists.values()) entry.list.reset(this.options(entry.bits), this.allMembers());
  }

  private options(bits: OverwriteBits[]): ListOptions {
    return {
      hoisted: [],
      large: this.large,
      includes: (m) =>
        PermissionCalculator.has(
          PermissionCalculator.channel(
            {
              guildId: this.guildId,
              ownerId: this.ownerId,
              userId: m.userId,
              rolePermissions: this.rolePermissions,
              memberRoleIds: m.roles,
            },
            bits,
          ),
          Permission.VIEW_CHANNEL,
        ),
      item: (m) => {
        const dto = this.members.get(m.userId)?.dto;
        return {
          ...dto,
          presence: { user: { id: m.userId }, status: m.status, activities: [], client_status: {} },
        };
      },
    };
  }
}

/** The overwrites that decide who may view the channel (the only ones that shape its audience). */
function viewBits(overwrites: readonly AnyOverwrite[]): OverwriteBits[] {
  const out: OverwriteBits[] = [];
  for (const o of overwrites) {
    const allow = parsePermissions(o.allow);
    const deny = parsePermissions(o.deny);
    if (((allow | deny) & Permission.VIEW_CHANNEL) === 0n) continue;
    out.push({
      id: o.id,
      type: o.type === 1 ? 1 : 0,
      allow: allow & Permission.VIEW_CHANNEL,
      deny: deny & Permission.VIEW_CHANNEL,
    });
  }
  return out;
}

/** Discord's list id: `everyone` when nothing narrows VIEW_CHANNEL, else a hash of what does. */
export function listIdOf(bits: readonly OverwriteBits[]): string {
  if (bits.length === 0) return 'everyone';
  const text = bits
    .map((o) => `${o.allow ? 'allow' : 'deny'}:${o.id}`)
    .sort()
    .join(',');
  return String(createHash('sha1').update(text).digest().readUInt32BE(0));
}
