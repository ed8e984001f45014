import { join } from 'node:path';
import { ROOT, launch, type Launched } from './process';

/** A real OpenID provider (`oidc-provider`) in its own process: test/support/oidc-provider.mjs. */
export interface OidcProvider {
  issuer: string;
  stop(): Promise<number | null>;
}

export interface OidcTestAccount {
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  name?: string;
}

export async function startOidcProvider(options: {
  port?: number;
  clients: { client_id: string; client_secret: string; redirect_uris: string[] }[];
  accounts?: Record<string, OidcTestAccount>;
}): Promise<OidcProvider> {
  const launched: Launched = await launch(
    join(ROOT, 'test/support/oidc-provider.mjs'),
    {
      OIDC_TEST_PORT: String(options.port ?? 0),
      OIDC_TEST_CLIENTS: JSON.stringify(options.clients),
      OIDC_TEST_ACCOUNTS: JSON.stringify(options.accounts ?? {}),
    },
    { label: 'oidc-provider', ready: /oidc provider listening at (\S+)/, timeoutMs: 20_000 },
  );
  return { issuer: launched.url, stop: () => launched.stop() };
}

export interface Visit {
  /** Where the walk stopped (not fetched): the first URL under `stopAt`. */
  url: URL;
  /** Every URL the walk went through, in order. */
  visited: string[];
}

/**
 * A browser's part of a login, driven over HTTP: follows redirects by hand with a cookie jar per host, and
 * submits the provider's login and consent forms (their hidden fields kept) until a redirect leaves for
 * `stopAt` (the web client's page the server sends the outcome to).
 */
export class FormBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  constructor(private readonly stopAt: string) {}

  /** Walks from `start`, answering login forms with `login` (any password) and consent forms with yes. */
  async signIn(start: string, login: string): Promise<Visit> {
    const visited: string[] = [];
    let next: { url: string; method: string; form?: URLSearchParams } = { url: start, method: 'GET' };
    for (let step = 0; step < 30; step++) {
      visited.push(next.url);
      if (next.url.startsWith(this.stopAt)) return { url: new URL(next.url), visited };
      const res = await this.fetch(next.url, next.method, next.form);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        next = { url: new URL(location, next.url).toString(), method: 'GET' };
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${next.url} answered ${res.status}: ${html.slice(0, 500)}`);
      const form = parseForm(html);
      if (!form) throw new Error(`${next.url}: no form to submit in ${html.slice(0, 500)}`);
      if (form.fields.get('prompt') === 'login') {
        form.fields.set('login', login);
        form.fields.set('password', 'any password');
      }
      next = {
        url: new URL(form.action, next.url).toString(),
        method: 'POST',
        form: new URLSearchParams([...form.fields]),
      };
    }
    throw new Error(`no way to ${this.stopAt} after 30 steps: ${visited.join(' -> ')}`);
  }

  /** One request with this browser's cookies for the host, keeping the cookies it sets; no redirect followed. */
  async fetch(url: string, method = 'GET', form?: URLSearchParams): Promise<Response> {
    const host = new URL(url).host;
    const jar = this.jars.get(host) ?? new Map<string, string>();
    this.jars.set(host, jar);
    const headers: Record<string, string> = {};
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body: form?.toString(), redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(cookie) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }
}

/** The first form of a page: its action and its inputs that have a name (with their values, if any). */
function parseForm(html: string): { action: string; fields: Map<string, string> } | null {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const fields = new Map<string, string>();
  for (const input of form[2].matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    if (name) fields.set(name, decode(/value="([^"]*)"/.exec(input[0])?.[1] ?? ''));
  }
  return { action: decode(form[1]), fields };
}

function decode(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#x2F;/g, '/')
    .replace(/&#39;/g, "'");
}
