import type { IncomingMessage } from 'node:http';
import { ValidationError } from '@parley/common';
import { z } from 'zod';
import { isDiscordRequest, rewriteDiscordUrl } from './dialect';
import { discordErrorBody } from './error-body';
import { parseInput } from './validation';

const req = (url: string) => ({ url }) as IncomingMessage;

describe('the Discord dialect', () => {
  it('rewrites Discord API versions and unversioned webhooks onto /api/v1, and remembers it', () => {
    for (const [from, to] of [
      ['/api/v10/gateway/bot', '/api/v1/gateway/bot'],
      ['/api/v9/channels/1/messages?limit=5', '/api/v1/channels/1/messages?limit=5'],
      ['/api/webhooks/1/abc', '/api/v1/webhooks/1/abc'],
    ]) {
      const raw = req(from);
      expect(rewriteDiscordUrl(raw)).toBe(to);
      expect(isDiscordRequest({ raw })).toBe(true);
    }
    for (const untouched of [
      '/api/v1/users/@me',
      '/api/v11/x',
      '/api/v100',
      '/api/webhooksx',
      '/health/live',
    ]) {
      const raw = req(untouched);
      expect(rewriteDiscordUrl(raw)).toBe(untouched);
      expect(isDiscordRequest({ raw })).toBe(false);
    }
  });

  const schema = z.strictObject({
    content: z.string().min(1),
    color: z.number().optional(),
    nested: z.strictObject({ keep: z.boolean().optional() }).optional(),
  });

  it('drops unknown keys (nested too) and nulls of optional fields for Discord clients only', () => {
    const input = { content: 'hi', tts: false, color: null, nested: { keep: true, extra: 1 }, embeds: [] };
    expect(parseInput(schema, input, true)).toEqual({ content: 'hi', nested: { keep: true } });
    expect(() => parseInput(schema, input)).toThrow(ValidationError);
    // What Parley does use is still validated.
    expect(() => parseInput(schema, { content: '', tts: false }, true)).toThrow(ValidationError);
  });

  it("nests field errors the way Discord does, with 'Invalid Form Body'", () => {
    let error: ValidationError | undefined;
    try {
      parseInput(schema, { content: 5, nested: { keep: 'yes' } }, true);
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error?.errors).toBeDefined();
    const body = discordErrorBody({ code: 50035, message: 'Invalid request', errors: error!.errors });
    expect(body).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: {
        content: { _errors: [expect.objectContaining({ code: 'BASE_TYPE_INVALID' })] },
        nested: { keep: { _errors: [expect.objectContaining({ code: 'BASE_TYPE_INVALID' })] } },
      },
    });
    expect(
      discordErrorBody({ code: 50035, message: 'x', errors: { _body: [{ code: 'A', message: 'b' }] } }),
    ).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: { _errors: [{ code: 'A', message: 'b' }] },
    });
  });
});
