import { Module } from '@nestjs/common';
import { ApplicationsController } from './applications.controller';
import { ApplicationService } from './applications.service';
import { AccountLinksController } from './account-links.controller';
import { AccountLinks } from './account-links.service';
import { TwoFactorController } from './two-factor.controller';
import { TwoFactor } from './two-factor.service';
import { AuthController, UsersController } from './auth.controller';
import { GatewayInfoController } from './gateway-info.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { MailJobs, Mailer } from './mail';
import { InstanceAdmins, InstanceCounters } from './instance';
import { PasswordHasher } from './passwords';
import { OidcController } from './oidc.controller';
import { OidcLogin } from './oidc.service';

/** Accounts, passwords, tokens and the guard: every process that authenticates a caller (api, gateway). */
@Module({
  providers: [
    AuthService,
    PasswordHasher,
    AuthGuard,
    Mailer,
    AccountLinks,
    TwoFactor,
    InstanceAdmins,
    InstanceCounters,
    OidcLogin,
  ],
  exports: [
    AuthService,
    AuthGuard,
    Mailer,
    AccountLinks,
    TwoFactor,
    InstanceAdmins,
    InstanceCounters,
    OidcLogin,
    PasswordHasher,
  ],
})
export class AuthCoreModule {}

/** queue role: delivers account mail over SMTP. */
@Module({ providers: [MailJobs] })
export class AuthJobsModule {}

/** api role: register, login, logout, the mailed links (verify, forgot, reset) and the user routes. */
@Module({
  imports: [AuthCoreModule],
  providers: [ApplicationService],
  controllers: [
    AuthController,
    AccountLinksController,
    TwoFactorController,
    UsersController,
    ApplicationsController,
    GatewayInfoController,
    OidcController,
  ],
})
export class AuthApiModule {}

/** The REST controllers of this library, for the OpenAPI document. */
export const AUTH_API_CONTROLLERS = [
  AuthController,
  UsersController,
  ApplicationsController,
  GatewayInfoController,
  AccountLinksController,
  TwoFactorController,
  OidcController,
];
