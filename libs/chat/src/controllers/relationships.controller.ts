import { Controller, Delete, Get, HttpCode, Param, Patch, Put, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import {
  type DirectMessagePolicy,
  type RelationshipDto,
  RelationshipService,
} from '../moderation/relationships.service';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

/** The caller's blocks (Discord's relationships, type 2). */
@Controller('api/v1/users/@me/relationships')
@UseGuards(AuthGuard, RateLimitGuard)
export class RelationshipsController {
  constructor(private readonly relationships: RelationshipService) {}

  @Get()
  list(@Caller() c: AuthContext): Promise<RelationshipDto[]> {
    return this.relationships.list(c.userId);
  }

  @Put(':user_id')
  @HttpCode(204)
  put(
    @Caller() c: AuthContext,
    @Param('user_id') userId: string,
    @ValidBody(s.relationshipBody) body: In<typeof s.relationshipBody>,
  ): Promise<void> {
    return this.relationships.put(c.userId, userId, body.type);
  }

  @Delete(':user_id')
  @HttpCode(204)
  remove(@Caller() c: AuthContext, @Param('user_id') userId: string): Promise<void> {
    return this.relationships.remove(c.userId, userId);
  }
}

/** Who may open a DM with the caller (Parley's setting; Discord keeps it among its client settings). */
@Controller('api/v1/users/@me/privacy')
@UseGuards(AuthGuard, RateLimitGuard)
export class PrivacyController {
  constructor(private readonly relationships: RelationshipService) {}

  @Get()
  get(@Caller() c: AuthContext): Promise<{ direct_messages: DirectMessagePolicy }> {
    return this.relationships.privacy(c.userId);
  }

  @Patch()
  update(
    @Caller() c: AuthContext,
    @ValidBody(s.privacyBody) body: In<typeof s.privacyBody>,
  ): Promise<{ direct_messages: DirectMessagePolicy }> {
    return this.relationships.setPrivacy(c.userId, body.direct_messages);
  }
}
