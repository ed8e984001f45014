import { messageRecord } from '@parley/storage/testing';
import { formatEnd, formatHeader, formatRecord, parseHeader, parseLine } from './format';

const message = messageRecord({
  id: '1234567890123456789',
  channelId: '1234567890123456790',
  authorId: '1234567890123456791',
  content: 'hi',
});

describe('export format', () => {
  it('round-trips a header, a record and the end line', () => {
    const header = parseHeader(formatHeader('sqlite', ['users', 'messages'], new Date(0)));
    expect(header).toEqual({
      header: {
        format: 'parley-export',
        version: 1,
        exported_at: '1970-01-01T00:00:00.000Z',
        source: 'sqlite',
        tables: ['users', 'messages'],
      },
    });
    expect(parseLine(formatRecord('messages', message))).toEqual({
      kind: 'record',
      table: 'messages',
      record: message,
    });
    expect(parseLine(formatEnd({ messages: 1 }))).toEqual({ kind: 'end', counts: { messages: 1 } });
  });

  it('reads a reply, and a message exported before replies existed as no reply', () => {
    const reply = { ...message, type: 19, referenceId: '1234567890123456700' };
    expect(parseLine(formatRecord('messages', reply))).toEqual({
      kind: 'record',
      table: 'messages',
      record: reply,
    });
    const { referenceId: _dropped, ...older } = message;
    expect(parseLine(JSON.stringify({ table: 'messages', record: older }))).toEqual({
      kind: 'record',
      table: 'messages',
      record: { ...message, referenceId: null },
    });
  });

  it('names what is wrong with a line', () => {
    expect(parseLine('{"table":"messages","record":')).toMatchObject({
      kind: 'invalid',
      problem: expect.stringMatching(/^not valid JSON/),
    });
    expect(parseLine('{"table":"stickers","record":{}}')).toMatchObject({
      kind: 'invalid',
      problem: 'unknown table "stickers"',
    });
    const bad = parseLine(
      JSON.stringify({ table: 'messages', record: { ...message, id: 'abc', content: 5 } }),
    );
    expect(bad).toMatchObject({ kind: 'invalid', table: 'messages' });
    expect(bad.kind === 'invalid' && bad.problem).toMatch(
      /messages\.id: must be a snowflake id.*messages\.content/,
    );
    const extra = parseLine(JSON.stringify({ table: 'messages', record: { ...message, surprise: 1 } }));
    expect(extra.kind === 'invalid' && extra.problem).toMatch(/surprise/);
  });

  it('refuses another format or version in the header', () => {
    expect(parseHeader('{"hello":1}')).toMatchObject({
      problem: expect.stringMatching(/not a Parley export header/),
    });
    const future = JSON.parse(formatHeader('sqlite', [])) as Record<string, unknown>;
    expect(parseHeader(JSON.stringify({ ...future, version: 2 }))).toEqual({
      problem: 'export format version 2 is not supported (this Parley reads version 1)',
    });
  });
});
