import { Module } from '@nestjs/common';
import { RateLimitGuard } from '@parley/http';
import { AuthController, UsersController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { PasswordHasher } from './passwords';

@Module({
  controllers: [AuthController, UsersController],
  providers: [AuthService, PasswordHasher, AuthGuard, RateLimitGuard],
  exports: [AuthService, AuthGuard, RateLimitGuard],
})
export class AuthModule {}
