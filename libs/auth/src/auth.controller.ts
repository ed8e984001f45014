import { Controller, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { isSnowflake, type PublicUser, type SelfUser, unknown } from '@parley/common';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import { AuthGuard, Caller, Public } from './auth.guard';
import { AuthService, type Session } from './auth.service';
import { loginBody, patchMeBody, registerBody } from './schemas';
import { toSelfUser } from './serializers';

@Controller('api/v1/auth')
@UseGuards(AuthGuard, RateLimitGuard)
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @Public()
  @RateLimit('auth.register')
  @HttpCode(201)
  register(@ValidBody(registerBody) body: z.infer<typeof registerBody>): Promise<Session> {
    return this.auth.register(body);
  }

  @Post('login')
  @Public()
  @RateLimit('auth.login')
  @HttpCode(200)
  login(@ValidBody(loginBody) body: z.infer<typeof loginBody>): Promise<Session> {
    return this.auth.login(body);
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Caller() caller: AuthContext): Promise<void> {
    await this.auth.logout(caller.tokenHash, caller.userId);
  }
}

@Controller('api/v1/users')
@UseGuards(AuthGuard, RateLimitGuard)
export class UsersController {
  constructor(private readonly auth: AuthService) {}

  @Get('@me')
  async me(@Caller() caller: AuthContext): Promise<SelfUser> {
    return toSelfUser(await this.auth.me(caller.userId));
  }

  @Patch('@me')
  updateMe(
    @Caller() caller: AuthContext,
    @ValidBody(patchMeBody) body: z.infer<typeof patchMeBody>,
  ): Promise<SelfUser> {
    return this.auth.updateMe(caller.userId, body);
  }

  @Get(':user_id')
  user(@Param('user_id') userId: string): Promise<PublicUser> {
    if (!isSnowflake(userId)) throw unknown('user');
    return this.auth.publicUser(userId);
  }
}
