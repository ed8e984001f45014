import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  SetMetadata,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError, UnauthorizedError } from '@parley/common';
import type { AuthContext, ParleyRequest } from '@parley/http';
import { AuthService } from './auth.service';

const PUBLIC = 'parley:public';
/** Marks a handler that needs no token (register, login, invite preview). */
export const Public = () => SetMetadata(PUBLIC, true);

const UNVERIFIED = 'parley:unverified';
/**
 * Marks a handler an account with an unverified address may use when `auth.email_verification` is required
 * (read itself, resend the link, sessions, log out); every other route answers 403 40002 until it verifies.
 */
export const AllowUnverified = () => SetMetadata(UNVERIFIED, true);

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ParleyRequest>();
    const header = request.headers.authorization;
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!header) {
      if (isPublic) return true;
      throw new UnauthorizedError('401: Unauthorized');
    }
    // `Bot <token>` is how bot applications (discord.js and the rest) authenticate; the token is the same kind.
    const match = /^(?:Bearer|Bot)\s+(\S+)$/i.exec(header);
    const verified = match ? await this.auth.verify(match[1]) : null;
    if (!verified) {
      if (isPublic) return true;
      throw new UnauthorizedError('401: Unauthorized');
    }
    request.auth = verified;
    if (verified.unverified && !isPublic && !this.allowsUnverified(context))
      throw new ForbiddenError('You need to verify your account in order to perform this action', 40002);
    return true;
  }

  private allowsUnverified(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean>(UNVERIFIED, [context.getHandler(), context.getClass()]) ===
      true
    );
  }
}

/** The verified caller; only on handlers behind AuthGuard that are not @Public. */
export const Caller = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = ctx.switchToHttp().getRequest<ParleyRequest>().auth;
  if (!auth) throw new UnauthorizedError('401: Unauthorized');
  return auth;
});
