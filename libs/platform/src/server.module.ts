import { type DynamicModule, Module } from '@nestjs/common';
import { AuthController, AuthModule, UsersController } from '@parley/auth';
import { BusModule } from '@parley/bus';
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
import { WebClientModule } from '@parley/web';
import { VoiceController, VoiceModule } from '@parley/voice';
import { CoreModule } from './core.module';
import { buildOpenApi, openApiController } from './openapi';

const VERSION = '0.1.0';

/** The monolith: every role's modules in one process over in-process transports. */
@Module({})
export class ServerModule {
  static forRoot(config: ParleyConfig): DynamicModule {
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
      module: ServerModule,
      imports: [
        CoreModule.forRoot(config),
        BusModule,
        AuthModule,
        ChatModule,
        RealtimeModule,
        MediaApiModule,
        MediaProxyModule,
        MediaJobsModule,
        VoiceModule,
        WebClientModule,
      ],
      controllers: [openApiController(() => (document ??= buildOpenApi(api, VERSION)))],
    };
  }
}
