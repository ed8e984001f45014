// The web client's state: one live value (live-state), the pure updates by what they change, and the dispatch
// table that maps gateway events onto them. Import from here, not from the parts.
export {
  emptyMessages,
  initialState,
  type ChannelMessages,
  type ClientMessage,
  type PresenceStatus,
  type State,
  type VoiceSession,
  type VoiceStateDto,
} from './state';
export { voiceStateUpdated } from './voice';
export { getState, resetState, update, useStore } from './live-state';
export { findChannel, isMuted, isUnread, mentionCount, notificationSettings } from './selectors';
export { applyDispatch } from './dispatch';
export { addGuild, setMembers } from './guilds';
export {
  addPending,
  confirmSent,
  dropPending,
  historyFailed,
  historyLoaded,
  historyReplaced,
  mergeMessages,
  newerLoaded,
  reactLocally,
  setPendingState,
  startLoading,
} from './messages';
export { markRead } from './read-states';
export { expireTyping } from './typing';
