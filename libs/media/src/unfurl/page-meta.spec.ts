import { imageEmbed, linkEmbed, withProxyUrls } from './link-embed';
import { decodePage, parsePageMeta } from './page-meta';

const PAGE = 'https://news.example.test/story/1';

describe('parsePageMeta (OpenGraph, Twitter card and HTML tags)', () => {
  it('reads OpenGraph tags, resolving relative URLs and decoding entities', () => {
    const meta = parsePageMeta(
      `<!doctype html><html><head>
        <title>Fallback title</title>
        <meta property="og:title" content="Rock &amp; roll &lt;b&gt;">
        <meta property="og:description" content="  A   story\n about things ">
        <meta property="og:site_name" content="Example News">
        <meta property="og:type" content="article">
        <meta property="og:image" content="/img/cover.png">
        <meta property="og:image" content="/img/second.png">
        <meta property="og:image:width" content="1200"><meta property="og:image:height" content="630">
        <meta name="theme-color" content="#3366ff">
        <link rel="alternate" type="application/json+oembed" href="/oembed?url=1">
      </head><body><meta property="og:title" content="ignored, in the body"></body></html>`,
      PAGE,
    );
    expect(meta).toEqual({
      title: 'Rock & roll <b>',
      description: 'A story about things',
      siteName: 'Example News',
      type: 'article',
      image: { url: 'https://news.example.test/img/cover.png', width: 1200, height: 630 },
      video: undefined,
      card: undefined,
      color: 0x3366ff,
      oembed: 'https://news.example.test/oembed?url=1',
    });
  });

  it('falls back to Twitter tags, then <title> and the description meta', () => {
    const meta = parsePageMeta(
      '<head><title> Plain  page </title><meta name="description" content="About"><meta name="twitter:card" content="summary_large_image"><meta name="twitter:image" content="https://cdn.example.test/a.jpg"></head>',
      PAGE,
    );
    expect(meta).toMatchObject({
      title: 'Plain page',
      description: 'About',
      card: 'summary_large_image',
      image: { url: 'https://cdn.example.test/a.jpg' },
    });
  });

  it('keeps only http(s) image URLs and sane dimensions; survives broken markup', () => {
    const meta = parsePageMeta(
      '<head><meta property="og:image" content="javascript:alert(1)"><meta property="og:image:width" content="-5"><meta property="og:title" content="x"',
      PAGE,
    );
    expect(meta.image).toBeUndefined();
    expect(parsePageMeta('<<<>>>&&&', PAGE)).toMatchObject({ title: undefined, image: undefined });
  });

  it('decodes the declared charset', () => {
    const latin1 = Buffer.from('<head><title>caf\xe9</title></head>', 'latin1');
    expect(parsePageMeta(decodePage(latin1, 'text/html; charset=iso-8859-1'), PAGE).title).toBe('café');
    const meta = Buffer.from('<head><meta charset="windows-1252"><title>\x93q\x94</title></head>', 'latin1');
    expect(parsePageMeta(decodePage(meta, 'text/html'), PAGE).title).toBe('“q”');
  });
});

describe('linkEmbed (Discord embed from page metadata)', () => {
  it('builds an article embed with provider and thumbnail', () => {
    const meta = parsePageMeta(
      '<head><meta property="og:type" content="article"><meta property="og:title" content="T"><meta property="og:site_name" content="S"><meta property="og:image" content="/i.png"></head>',
      PAGE,
    );
    expect(linkEmbed(PAGE, meta, null)).toEqual({
      type: 'article',
      url: PAGE,
      title: 'T',
      provider: { name: 'S' },
      thumbnail: { url: 'https://news.example.test/i.png' },
    });
  });

  it('is "video" for og:video, "link" for a website, image for a large card, null for nothing', () => {
    const video = parsePageMeta(
      '<head><meta property="og:title" content="V"><meta property="og:video" content="https://v.test/v.mp4"></head>',
      PAGE,
    );
    expect(linkEmbed(PAGE, video, null)).toMatchObject({
      type: 'video',
      video: { url: 'https://v.test/v.mp4' },
    });
    const large = parsePageMeta(
      '<head><meta property="og:title" content="L"><meta name="twitter:card" content="summary_large_image"><meta property="og:image" content="https://i.test/l.png"></head>',
      PAGE,
    );
    expect(linkEmbed(PAGE, large, null)).toEqual({
      type: 'link',
      url: PAGE,
      title: 'L',
      image: { url: 'https://i.test/l.png' },
    });
    expect(linkEmbed(PAGE, parsePageMeta('<p>nothing</p>', PAGE), null)).toBeNull();
  });

  it('fills gaps from oEmbed and cuts long descriptions as Discord does', () => {
    const meta = parsePageMeta(
      `<head><meta property="og:description" content="${'d'.repeat(500)}"></head>`,
      PAGE,
    );
    const embed = linkEmbed(PAGE, meta, {
      type: 'video',
      title: 'From oEmbed',
      author_name: 'Someone',
      provider_name: 'Tube',
      provider_url: 'https://tube.test/',
      thumbnail_url: 'https://tube.test/t.jpg',
      thumbnail_width: 480,
      thumbnail_height: 360,
    });
    expect(embed).toMatchObject({
      type: 'video',
      title: 'From oEmbed',
      author: { name: 'Someone' },
      provider: { name: 'Tube', url: 'https://tube.test/' },
      thumbnail: { url: 'https://tube.test/t.jpg', width: 480, height: 360 },
    });
    expect([...(embed?.description ?? '')]).toHaveLength(350);
    expect(embed?.description?.endsWith('…')).toBe(true);
  });

  it('gives images an image embed and proxies pictures', () => {
    const image = imageEmbed('https://i.test/a.png', { width: 2, height: 3 });
    expect(image).toEqual({
      type: 'image',
      url: 'https://i.test/a.png',
      thumbnail: { url: 'https://i.test/a.png', width: 2, height: 3 },
    });
    expect(withProxyUrls(image, (u) => `/proxy/${encodeURIComponent(u)}`).thumbnail?.proxy_url).toBe(
      '/proxy/https%3A%2F%2Fi.test%2Fa.png',
    );
  });
});
