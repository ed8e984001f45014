import { Module } from '@nestjs/common';
import { AuthModule } from '@parley/auth';
import { AccessService } from './access.service';
import { ChannelService } from './channels.service';
import { ChannelsController, GuildsController, InvitesController, MeController } from './chat.controllers';
import { GuildService } from './guilds.service';
import { MessageService } from './messages.service';
import { PurgeJobs } from './purge.jobs';
import { ReadyService } from './ready.service';
import { UserDirectory } from './users.directory';

@Module({
  imports: [AuthModule],
  controllers: [GuildsController, ChannelsController, InvitesController, MeController],
  providers: [
    AccessService,
    UserDirectory,
    GuildService,
    ChannelService,
    MessageService,
    ReadyService,
    PurgeJobs,
  ],
  exports: [AccessService, UserDirectory, GuildService, ChannelService, MessageService, ReadyService],
})
export class ChatModule {}
