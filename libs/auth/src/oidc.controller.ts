import { Controller, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AuthGuard, Public } from './auth.guard';
import type { Session } from './auth.service';
import { OidcLogin, type OidcOutcome, type PublicProvider } from './oidc.service';
import { oidcLinkBody } from './schemas';
import type { MfaChallenge } from './two-factor.service';

/**
 * Single sign-on over OpenID Connect. `start` and `callback` are browser navigations: each answers a redirect,
 * the callback to the web client's `/oidc` page with its outcome in the fragment (never sent to a server, so
 * the token stays out of access logs).
 */
@Controller('api/v1/auth/oidc')
@UseGuards(AuthGuard, RateLimitGuard)
export class OidcController {
  constructor(private readonly oidc: OidcLogin) {}

  /** The providers the login screen offers, and whether password login is off. */
  @Get('providers')
  @Public()
  providers(): { providers: PublicProvider[]; sso_only: boolean } {
    return this.oidc.providers();
  }

  @Get(':provider/start')
  @Public()
  @RateLimit('auth.login')
  async start(@Param('provider') provider: string, @Res() reply: FastifyReply): Promise<void> {
    const url = await this.oidc.start(provider);
    await reply.header('cache-control', 'no-store').redirect(url, 302);
  }

  @Get(':provider/callback')
  @Public()
  @RateLimit('auth.login')
  async callback(
    @Param('provider') provider: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const query = request.url.split('?')[1] ?? '';
    const outcome = await this.oidc.callback(provider, query);
    await reply
      .header('cache-control', 'no-store')
      .redirect(`${this.oidc.publicBase()}/oidc#${fragment(outcome)}`, 302);
  }

  /** Links the identity of a pending login to the account its email names, proven by that account's password. */
  @Post('link')
  @Public()
  @RateLimit('auth.login')
  @HttpCode(200)
  link(@ValidBody(oidcLinkBody) body: z.infer<typeof oidcLinkBody>): Promise<Session | MfaChallenge> {
    return this.oidc.confirmLink(body.ticket, body.password);
  }
}

function fragment(outcome: OidcOutcome): string {
  const params = new URLSearchParams();
  switch (outcome.kind) {
    case 'session':
      params.set('token', outcome.session.token);
      break;
    case 'mfa':
      params.set('mfa_ticket', outcome.challenge.ticket);
      params.set('backup', String(outcome.challenge.backup));
      break;
    case 'link':
      params.set('link_ticket', outcome.ticket);
      params.set('provider', outcome.provider);
      params.set('email', outcome.email);
      break;
    case 'error':
      params.set('error', outcome.message);
      params.set('code', String(outcome.code));
      break;
  }
  return params.toString();
}
