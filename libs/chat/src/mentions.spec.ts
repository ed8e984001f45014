import type { RoleRecord } from '@parley/storage';
import { parseMentions } from './mentions';

const GUILD = '100';
const role = (id: string, mentionable: boolean): RoleRecord => ({
  id,
  guildId: GUILD,
  name: `r${id}`,
  permissions: '0',
  color: 0,
  position: 1,
  mentionable,
});
const ROLES = [role(GUILD, false), role('201', true), role('202', false)];
const CONTENT = 'hi <@301> <@!302> <@&201> <@&202> <@&999> <@&100> @everyone';
const member = { roles: ROLES, mentionEveryone: false };
const moderator = { roles: ROLES, mentionEveryone: true };

describe('parseMentions (Discord allowed_mentions rules)', () => {
  it('without allowed_mentions: every user, mentionable roles, @everyone only with MENTION_EVERYONE', () => {
    expect(parseMentions(CONTENT, undefined, member)).toEqual({
      users: ['301', '302'],
      roles: ['201'],
      everyone: false,
      repliedUser: true,
    });
    // MENTION_EVERYONE also lets unmentionable roles through; unknown ids and the @everyone role never count.
    expect(parseMentions(CONTENT, undefined, moderator)).toEqual({
      users: ['301', '302'],
      roles: ['201', '202'],
      everyone: true,
      repliedUser: true,
    });
  });

  it('with allowed_mentions: only the kinds parsed and the ids listed, replied_user off unless set', () => {
    expect(parseMentions(CONTENT, {}, moderator)).toEqual({
      users: [],
      roles: [],
      everyone: false,
      repliedUser: false,
    });
    expect(parseMentions(CONTENT, { parse: ['everyone'], replied_user: true }, moderator)).toEqual({
      users: [],
      roles: [],
      everyone: true,
      repliedUser: true,
    });
    // Listed ids count only when they are in the content too.
    expect(parseMentions(CONTENT, { users: ['302', '303'], roles: ['202'], parse: [] }, moderator)).toEqual({
      users: ['302'],
      roles: ['202'],
      everyone: false,
      repliedUser: false,
    });
    expect(parseMentions(CONTENT, { parse: ['roles'] }, member).roles).toEqual(['201']);
  });

  it('makes no role or @everyone mentions in a DM, and stops at 50 users', () => {
    expect(parseMentions('<@&201> @here <@5>', undefined, { roles: null, mentionEveryone: true })).toEqual({
      users: ['5'],
      roles: [],
      everyone: false,
      repliedUser: true,
    });
    const many = Array.from({ length: 60 }, (_, i) => `<@${1000 + i}>`).join(' ');
    expect(parseMentions(many, undefined, member).users).toHaveLength(50);
  });

  it('does not take @everyone inside a word or an e-mail-like string as a mention', () => {
    expect(parseMentions('mail me@everyonex.test', undefined, moderator).everyone).toBe(false);
  });
});
