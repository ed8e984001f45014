import { newerThan } from '../text';
import type { State } from './state';

/** Our own message is read by definition. */
export function readOwnMessage(s: State, channelId: string, messageId: string): State {
  const rs = s.readStates[channelId];
  if (!newerThan(messageId, rs?.last_message_id)) return s;
  return {
    ...s,
    readStates: {
      ...s.readStates,
      [channelId]: { channel_id: channelId, last_message_id: messageId, mention_count: 0 },
    },
  };
}

export function countMention(s: State, channelId: string): State {
  const rs = s.readStates[channelId] ?? {
    channel_id: channelId,
    last_message_id: null,
    mention_count: 0,
  };
  return {
    ...s,
    readStates: { ...s.readStates, [channelId]: { ...rs, mention_count: rs.mention_count + 1 } },
  };
}

/** MESSAGE_ACK from any of our sessions; an older ack than the one we hold changes nothing. */
export function acknowledged(s: State, channelId: string, messageId: string, mentionCount: number): State {
  const current = s.readStates[channelId];
  if (current && newerThan(current.last_message_id, messageId)) return s;
  return {
    ...s,
    readStates: {
      ...s.readStates,
      [channelId]: {
        channel_id: channelId,
        last_message_id: messageId,
        mention_count: mentionCount,
      },
    },
  };
}

/** Read on this device: clears the mentions; nothing changes when it is already read that far. */
export function markRead(s: State, channelId: string, messageId: string): State {
  const rs = s.readStates[channelId];
  if (rs && !newerThan(messageId, rs.last_message_id) && rs.mention_count === 0) return s;
  return {
    ...s,
    readStates: {
      ...s.readStates,
      [channelId]: { channel_id: channelId, last_message_id: messageId, mention_count: 0 },
    },
  };
}
