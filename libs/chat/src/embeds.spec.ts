import { embedsInput } from './embeds';

describe('embedsInput (Discord embed limits)', () => {
  it('accepts a rich embed and marks it rich', () => {
    const parsed = embedsInput.parse([
      {
        title: 'Release',
        description: 'notes',
        url: 'https://example.test/r',
        color: 0x00ff00,
        timestamp: '2026-12-06T05:00:00.000Z',
        footer: { text: 'f' },
        author: { name: 'a', icon_url: 'https://example.test/a.png' },
        image: { url: 'https://example.test/i.png' },
        fields: [{ name: 'k', value: 'v', inline: true }],
      },
    ]);
    expect(parsed[0]).toMatchObject({ type: 'rich', title: 'Release', fields: [{ name: 'k', value: 'v' }] });
  });

  it.each([
    ['a title over 256', [{ title: 'x'.repeat(257) }]],
    ['a description over 4096', [{ description: 'x'.repeat(4097) }]],
    ['more than 25 fields', [{ fields: Array.from({ length: 26 }, () => ({ name: 'n', value: 'v' })) }]],
    ['more than 10 embeds', Array.from({ length: 11 }, () => ({ title: 't' }))],
    ['over 6000 characters in all', Array.from({ length: 2 }, () => ({ description: 'x'.repeat(3001) }))],
    ['a javascript: URL', [{ url: 'javascript:alert(1)' }]],
    ['a colour past 0xffffff', [{ color: 0x1000000 }]],
    ['an unknown field', [{ title: 't', script: '<b>' }]],
    ['a proxy_url from the sender', [{ image: { url: 'https://example.test/i.png', proxy_url: '/x' } }]],
  ])('refuses %s', (_what, embeds) => {
    expect(embedsInput.safeParse(embeds).success).toBe(false);
  });
});
