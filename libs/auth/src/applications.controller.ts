import { Controller, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import { z } from 'zod';
import { ApplicationService, type ApplicationDto } from './applications.service';
import { AuthGuard, Caller } from './auth.guard';

const applicationCreateBody = z.object({
  name: z.string().trim().min(2).max(32),
  flags: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
});
const applicationPatchBody = z.object({
  flags: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
});

/** Bot applications (Discord's routes): create, read, privileged-intent flags, token reset. */
@Controller('api/v1/applications')
@UseGuards(AuthGuard, RateLimitGuard)
export class ApplicationsController {
  constructor(private readonly applications: ApplicationService) {}

  @Post()
  @RateLimit('auth.register')
  @HttpCode(201)
  create(
    @Caller() c: AuthContext,
    @ValidBody(applicationCreateBody) body: z.infer<typeof applicationCreateBody>,
  ): Promise<ApplicationDto> {
    return this.applications.create(c.userId, body);
  }

  /** The caller's own applications (Discord's developer portal list), oldest first. */
  @Get()
  list(@Caller() c: AuthContext): Promise<ApplicationDto[]> {
    return this.applications.list(c.userId);
  }

  @Get('@me')
  current(@Caller() c: AuthContext): Promise<ApplicationDto> {
    return this.applications.current(c.userId);
  }

  @Get(':application_id')
  get(@Caller() c: AuthContext, @Param('application_id') id: string): Promise<ApplicationDto> {
    return this.applications.get(c.userId, id);
  }

  @Patch(':application_id')
  update(
    @Caller() c: AuthContext,
    @Param('application_id') id: string,
    @ValidBody(applicationPatchBody) body: z.infer<typeof applicationPatchBody>,
  ): Promise<ApplicationDto> {
    return this.applications.update(c.userId, id, body);
  }

  @Post(':application_id/bot/reset')
  @HttpCode(200)
  reset(@Caller() c: AuthContext, @Param('application_id') id: string): Promise<{ token: string }> {
    return this.applications.resetToken(c.userId, id);
  }
}
