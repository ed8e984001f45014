import { Permission, PermissionCalculator, parsePermissions } from '@parley/common';
import type { AttachmentRef, ChannelRecord, RoleRecord } from '@parley/storage';
import { overwriteBits } from './access.service';

/**
 * Signs media-proxy paths (libs/media provides it). Without one, attachment URLs are plain paths,
 * which the media proxy serves only for public channels.
 */
export interface MediaPathSigner {
  sign(path: string): string;
}
export const MEDIA_PATH_SIGNER = Symbol('MEDIA_PATH_SIGNER');

export type AttachmentUrl = (channelId: string, attachment: Pick<AttachmentRef, 'id' | 'filename'>) => string;

export function attachmentPath(
  channelId: string,
  attachment: Pick<AttachmentRef, 'id' | 'filename'>,
): string {
  return `/media/attachments/${channelId}/${attachment.id}/${encodeURIComponent(attachment.filename)}`;
}

/**
 * Public = viewable by @everyone (its role and its channel overwrite): such files are served
 * unsigned. DMs and channels closed to @everyone get signed, expiring URLs.
 */
export function viewableByEveryone(channel: ChannelRecord, everyone: RoleRecord | undefined): boolean {
  if (channel.guildId === null || !everyone) return false;
  const base = parsePermissions(everyone.permissions);
  if (PermissionCalculator.has(base, Permission.ADMINISTRATOR)) return true;
  const perms = PermissionCalculator.applyOverwrites(
    base,
    { guildId: channel.guildId, ownerId: '', userId: '', rolePermissions: new Map(), memberRoleIds: [] },
    overwriteBits(channel).filter((o) => o.type === 0 && o.id === channel.guildId),
  );
  return PermissionCalculator.has(perms, Permission.VIEW_CHANNEL);
}

/** The URL builder for one channel's attachments. */
export function attachmentUrls(
  channel: ChannelRecord,
  roles: readonly RoleRecord[] | null,
  signer: MediaPathSigner | null,
): AttachmentUrl {
  const everyone = roles?.find((r) => r.id === channel.guildId);
  if (!signer || viewableByEveryone(channel, everyone)) return attachmentPath;
  return (channelId, attachment) => signer.sign(attachmentPath(channelId, attachment));
}
