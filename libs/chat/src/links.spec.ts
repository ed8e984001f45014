import { MAX_UNFURLED_LINKS, proxiedEmbeds, unfurlableLinks } from './links';

describe('unfurlableLinks (which links of a message are unfurled)', () => {
  it('finds http and https links in order, each once, without trailing punctuation or fragment', () => {
    expect(
      unfurlableLinks(
        'see https://Example.test/a, and (http://example.test/b). Again https://example.test/a#x!',
      ),
    ).toEqual(['https://example.test/a', 'http://example.test/b']);
  });

  it('keeps parentheses a link opened itself', () => {
    expect(unfurlableLinks('https://en.wikipedia.org/wiki/Foo_(bar)')).toEqual([
      'https://en.wikipedia.org/wiki/Foo_(bar)',
    ]);
  });

  it('skips <link> (Discord suppression), code, other schemes, credentials and bare host names', () => {
    expect(
      unfurlableLinks(
        '<https://a.test/x> `https://b.test/` ```\nhttps://c.test/\n``` ftp://d.test/ example.com https://u:p@e.test/ https://f.test/',
      ),
    ).toEqual(['https://f.test/']);
  });

  it(`takes at most ${MAX_UNFURLED_LINKS} links`, () => {
    const content = Array.from({ length: 8 }, (_, i) => `https://site${i}.test/`).join(' ');
    expect(unfurlableLinks(content)).toEqual(
      Array.from({ length: MAX_UNFURLED_LINKS }, (_, i) => `https://site${i}.test/`),
    );
  });

  it('finds nothing in text without links', () => {
    expect(unfurlableLinks('hello <world> `code`')).toEqual([]);
  });
});

describe('proxiedEmbeds (embed pictures through the media proxy)', () => {
  const proxy = { url: (u: string) => `/media/external/${Buffer.from(u).toString('base64url')}?hm=x` };

  it('sets proxy_url on image and thumbnail, leaving other embeds alone', () => {
    type Pictured = {
      title?: string;
      image?: { url: string; proxy_url?: string };
      thumbnail?: { url: string; proxy_url?: string };
    };
    const plain: Pictured = { title: 'no pictures' };
    const [first, second] = proxiedEmbeds(
      [
        plain,
        { image: { url: 'https://i.test/a.png' }, thumbnail: { url: 'https://i.test/b.png' } },
      ] as Pictured[],
      proxy,
    );
    expect(first).toBe(plain);
    expect(second.image?.proxy_url).toBe(proxy.url('https://i.test/a.png'));
    expect(second.thumbnail?.proxy_url).toBe(proxy.url('https://i.test/b.png'));
  });

  it('changes nothing without a proxy (the external proxy is off)', () => {
    const embeds = [{ image: { url: 'https://i.test/a.png' } }];
    expect(proxiedEmbeds(embeds, null)).toBe(embeds);
  });
});
