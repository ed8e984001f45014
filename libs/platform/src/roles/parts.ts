import type { Type } from '@nestjs/common';
import { AccountsApiModule, AccountsJobsModule } from '@parley/accounts';
import { AuthApiModule, AuthJobsModule } from '@parley/auth';
import { ChatApiModule, ChatJobsModule } from '@parley/chat';
import { MediaApiModule, MediaJobsModule, MediaProxyModule } from '@parley/media';
import { NotificationsApiModule, NotificationsJobsModule } from '@parley/notifications';
import { RealtimeModule } from '@parley/realtime';
import { VoiceApiModule } from '@parley/voice';
import type { Role } from './roles';

/**
 * The parts each role runs: API parts (controllers) for the api, jobs parts (handlers) for the queue. A part
 * imports the core modules it needs (services, providers), so no role carries controllers it does not serve.
 * The monolith runs every role's parts in one process.
 */
export const ROLE_PARTS: Record<Role, readonly Type[]> = {
  api: [
    AuthApiModule,
    ChatApiModule,
    MediaApiModule,
    NotificationsApiModule,
    VoiceApiModule,
    AccountsApiModule,
  ],
  gateway: [RealtimeModule],
  'media-proxy': [MediaProxyModule],
  queue: [AuthJobsModule, ChatJobsModule, MediaJobsModule, NotificationsJobsModule, AccountsJobsModule],
};
