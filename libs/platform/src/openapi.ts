import { Controller, Get } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ACCOUNTS_API_CONTROLLERS } from '@parley/accounts';
import { AUTH_API_CONTROLLERS, Public } from '@parley/auth';
import { CHAT_API_CONTROLLERS } from '@parley/chat';
import { MEDIA_API_CONTROLLERS } from '@parley/media';
import { NOTIFICATIONS_API_CONTROLLERS } from '@parley/notifications';
import { VOICE_API_CONTROLLERS } from '@parley/voice';
import { inputSchemas } from '@parley/http';
import { z } from 'zod';

const METHODS = ['get', 'post', 'put', 'delete', 'patch', 'all', 'options', 'head', 'search'];

type Operation = Record<string, unknown>;

/** Builds the OpenAPI 3.1 document from the controllers' routes and the zod schemas they validate with. */
export function buildOpenApi(
  controllers: readonly (abstract new (...args: never[]) => unknown)[],
  version: string,
): object {
  const paths: Record<string, Record<string, Operation>> = {};
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as number | undefined;
      if (sub === undefined || method === undefined) continue;
      const path = `/${[base, sub].filter((p) => p && p !== '/').join('/')}`.replace(/:([a-z_]+)/g, '{$1}');
      const op: Operation = {
        operationId: `${controller.name}.${name}`,
        tags: [controller.name.replace(/Controller$/, '')],
        responses: {
          default: {
            description: 'Error',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      };
      const params = [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }));
      for (const entry of inputSchemas.filter((e) => e.target === controller && e.method === name)) {
        const schema = z.toJSONSchema(entry.schema, { io: 'input', unrepresentable: 'any' }) as {
          properties?: Record<string, object>;
        };
        if (entry.where === 'body') op.requestBody = { content: { 'application/json': { schema } } };
        else
          for (const [key, value] of Object.entries(schema.properties ?? {}))
            params.push({ name: key, in: 'query', required: false, schema: value as never });
      }
      if (params.length > 0) op.parameters = params;
      (paths[path] ??= {})[METHODS[method] ?? 'get'] = op;
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Parley API', version },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'integer' },
            message: { type: 'string' },
            errors: { type: 'object', additionalProperties: { type: 'array' } },
            retry_after: { type: 'number' },
            error_id: { type: 'string' },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

export function openApiController(document: () => object) {
  @Controller('api')
  class OpenApiController {
    @Get('docs')
    @Public()
    docs(): object {
      return document();
    }
  }
  return OpenApiController;
}

const VERSION = '0.1.0';

/** Every REST controller of the api role: the OpenAPI document describes exactly these. */
const API_CONTROLLERS = [
  ...AUTH_API_CONTROLLERS,
  ...CHAT_API_CONTROLLERS,
  ...MEDIA_API_CONTROLLERS,
  ...NOTIFICATIONS_API_CONTROLLERS,
  ...VOICE_API_CONTROLLERS,
  ...ACCOUNTS_API_CONTROLLERS,
];

/** `/api/docs` for the process that serves the api role (monolith or api), built once on first request. */
export function apiDocsController() {
  let document: object | null = null;
  return openApiController(() => (document ??= buildOpenApi(API_CONTROLLERS, VERSION)));
}
