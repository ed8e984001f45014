import { BadRequestException, NotFoundException } from '@nestjs/common';
import { ForbiddenError, RateLimitedError, ServiceUnavailableError, ValidationError } from '@parley/common';
import { mapError } from './error-body';

describe('mapError', () => {
  it('maps domain errors to their status and code, with field errors', () => {
    const mapped = mapError(ValidationError.field('name', 'BASE_TYPE_REQUIRED', 'required'));
    expect(mapped.status).toBe(400);
    expect(mapped.body).toEqual({
      code: 50035,
      message: 'Invalid form body',
      errors: { name: [{ code: 'BASE_TYPE_REQUIRED', message: 'required' }] },
    });
    expect(mapError(new ForbiddenError()).body).toEqual({ code: 50013, message: 'Missing permissions' });
  });

  it('gives 429 a retry_after and the rate-limit headers', () => {
    const mapped = mapError(new RateLimitedError(1500, 10, 'messages.create'));
    expect(mapped.status).toBe(429);
    expect(mapped.body).toMatchObject({ retry_after: 1.5, global: false });
    expect(mapped.headers).toMatchObject({
      'retry-after': '2',
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset-after': '1.500',
      'x-ratelimit-bucket': 'messages.create',
      'x-ratelimit-scope': 'user',
      'x-ratelimit-reset': expect.stringMatching(/^[0-9]+\.[0-9]{3}$/),
    });
  });

  it('hides internal errors behind an error_id, never the message or stack', () => {
    const mapped = mapError(new Error('SQLITE_CORRUPT: database disk image is malformed at /var/lib/parley'));
    expect(mapped.status).toBe(500);
    expect(mapped.body).toEqual({ code: 0, message: 'Internal server error', error_id: mapped.errorId });
    expect(JSON.stringify(mapped.body)).not.toContain('SQLITE');
    const unavailable = mapError(new ServiceUnavailableError('database unreachable'));
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error_id).toBe(unavailable.errorId);
  });

  it('maps framework errors (unknown routes, bad JSON, oversize bodies) to the contract shape', () => {
    expect(mapError(new NotFoundException('Cannot GET /x')).body).toEqual({
      code: 0,
      message: '404: Not Found',
    });
    expect(
      mapError(
        Object.assign(new Error('Unexpected end of JSON input'), {
          statusCode: 400,
          code: 'FST_ERR_CTP_INVALID_JSON_BODY',
        }),
      ).body.code,
    ).toBe(50109);
    expect(mapError(new BadRequestException('whatever')).status).toBe(400);
    expect(
      mapError(Object.assign(new Error('too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }))
        .status,
    ).toBe(413);
  });
});
