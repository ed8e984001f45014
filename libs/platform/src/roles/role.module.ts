import { type DynamicModule, Module } from '@nestjs/common';
import { AuthController, AuthModule, UsersController } from '@parley/auth';
import {
  ChannelsController,
  ChatModule,
  GuildsController,
  InvitesController,
  MeController,
} from '@parley/chat';
import type { ParleyConfig } from '@parley/config';
import {
  AttachmentsController,
  MediaApiModule,
  MediaJobsModule,
  MediaProxyModule,
  ProfileImagesController,
} from '@parley/media';
import { RealtimeModule } from '@parley/realtime';
import { VoiceController, VoiceModule } from '@parley/voice';
import { CoreModule } from '../core.module';
import { buildOpenApi, openApiController } from '../openapi';
import { MicroservicesModule } from './microservices.module';
import type { Role } from './roles';

const VERSION = '0.1.0';

/**
 * One role of microservices mode: the same feature modules as the monolith, a subset per process, wired to
 * NATS, JetStream and Redis instead of the in-process transports.
 */
@Module({})
export class RoleModule {
  static forRole(role: Role, config: ParleyConfig): DynamicModule {
    const base = [CoreModule.forRoot(config), MicroservicesModule.forRole(role)];
    switch (role) {
      case 'api': {
        let document: object | null = null;
        const api = [
          AuthController,
          UsersController,
          MeController,
          GuildsController,
          ChannelsController,
          InvitesController,
          AttachmentsController,
          ProfileImagesController,
          VoiceController,
        ];
        return {
          module: RoleModule,
          imports: [...base, AuthModule, ChatModule, MediaApiModule, VoiceModule],
          controllers: [openApiController(() => (document ??= buildOpenApi(api, VERSION)))],
        };
      }
      case 'gateway':
        return { module: RoleModule, imports: [...base, RealtimeModule] };
      case 'queue':
        // The job handlers register themselves from the feature modules, exactly as in the monolith.
        return { module: RoleModule, imports: [...base, ChatModule, MediaJobsModule] };
      case 'media-proxy':
        return { module: RoleModule, imports: [...base, MediaProxyModule] };
    }
  }
}
