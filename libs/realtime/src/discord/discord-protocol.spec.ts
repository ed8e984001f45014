import {
  ALL_INTENTS,
  Intent,
  allowedByIntents,
  discordDispatchFrame,
  discordSessionPrefix,
  intentsOfSessionId,
} from './discord-protocol';
import { withMessageContentRule } from './message-content';

describe('Discord protocol rules', () => {
  const guildMessage = JSON.stringify({
    id: '1',
    guild_id: '9',
    channel_id: '2',
    author: { id: 'a' },
    content: 'secret',
    mentions: [{ id: 'm' }],
    embeds: [{ title: 't' }],
    attachments: [{ id: 'x' }],
  });
  const dmMessage = JSON.stringify({
    id: '3',
    channel_id: '4',
    author: { id: 'a' },
    content: 'dm',
    mentions: [],
  });

  it('gates dispatches by intent, messages by where they are, and lets ungated types through', () => {
    expect(allowedByIntents('MESSAGE_CREATE', guildMessage, Intent.GUILD_MESSAGES)).toBe(true);
    expect(allowedByIntents('MESSAGE_CREATE', guildMessage, Intent.DIRECT_MESSAGES)).toBe(false);
    expect(allowedByIntents('MESSAGE_CREATE', dmMessage, Intent.DIRECT_MESSAGES)).toBe(true);
    expect(allowedByIntents('GUILD_MEMBER_ADD', '{}', Intent.GUILDS)).toBe(false);
    expect(allowedByIntents('GUILD_MEMBER_ADD', '{}', Intent.GUILD_MEMBERS)).toBe(true);
    expect(allowedByIntents('READY', '{}', 0)).toBe(true);
    expect(allowedByIntents('MESSAGE_ACK', '{}', 0)).toBe(true);
  });

  it('blanks guild message content without MESSAGE_CONTENT, except own messages, mentions and DMs', () => {
    const blanked = JSON.parse(withMessageContentRule('MESSAGE_CREATE', guildMessage, 'b', false)) as Record<
      string,
      unknown
    >;
    expect(blanked).toMatchObject({ id: '1', content: '', embeds: [], attachments: [] });
    expect(withMessageContentRule('MESSAGE_CREATE', guildMessage, 'a', false)).toBe(guildMessage);
    expect(withMessageContentRule('MESSAGE_CREATE', guildMessage, 'm', false)).toBe(guildMessage);
    expect(withMessageContentRule('MESSAGE_CREATE', guildMessage, 'b', true)).toBe(guildMessage);
    expect(withMessageContentRule('MESSAGE_CREATE', dmMessage, 'b', false)).toBe(dmMessage);
    expect(withMessageContentRule('MESSAGE_DELETE', guildMessage, 'b', false)).toBe(guildMessage);
    // The blanked copy is built once and shared by the recipients it applies to.
    expect(withMessageContentRule('MESSAGE_CREATE', guildMessage, 'c', false)).toBe(
      withMessageContentRule('MESSAGE_CREATE', guildMessage, 'd', false),
    );
  });

  it('frames a dispatch around the shared payload and keeps intents in the session id', () => {
    expect(JSON.parse(discordDispatchFrame('MESSAGE_CREATE', 7, dmMessage))).toEqual({
      op: 0,
      t: 'MESSAGE_CREATE',
      s: 7,
      d: JSON.parse(dmMessage),
    });
    const intents = Intent.GUILDS | Intent.MESSAGE_CONTENT;
    expect(intentsOfSessionId(`${discordSessionPrefix(intents)}abcDEF_-`)).toBe(intents);
    expect(intentsOfSessionId(`${discordSessionPrefix(0)}x`)).toBe(0);
    expect(intentsOfSessionId('socketioSessionWithoutDot')).toBeNull();
    expect(intentsOfSessionId(`${(ALL_INTENTS * 2 + 1).toString(36)}.x`)).toBeNull();
  });
});
