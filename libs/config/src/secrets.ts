import type { ParleyConfig } from './schema';

// user:password@ inside any URL (redis://, nats://, https://...), and credential-like query parameters.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s@/]+)@/gi;
const URL_USER_ONLY = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+)@/gi;
const QUERY_SECRETS = /([?&](?:password|pass|token|auth_token|secret|access_key|signature|hm)=)[^&\s#]*/gi;
const SECRET_KEY = /(password|secret|token|api_key)/;

/**
 * Text safe to print or log: credentials inside URLs become `***` (`redis://:hunter2@h` -> `redis://:***@h`;
 * a NATS token written as the URL's user, `nats://tok@h`, too), as do secret query parameters.
 */
export function maskCredentials(text: string): string {
  return text
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(URL_USER_ONLY, (_m, scheme: string) => `${scheme}***@`)
    .replace(QUERY_SECRETS, '$1***');
}

/** The effective configuration as `parley config check` shows it: secret values and URL credentials masked. */
export function maskedConfigJson(config: ParleyConfig): string {
  return JSON.stringify(
    config,
    (key, value: unknown) => {
      if (typeof value !== 'string' || !value) return value;
      if (SECRET_KEY.test(key)) return '***';
      return maskCredentials(value);
    },
    2,
  );
}
