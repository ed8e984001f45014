import multipart from '@fastify/multipart';
import {
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthCoreModule } from '@parley/auth';
import {
  ChatCoreModule,
  EXTERNAL_IMAGE_PROXY,
  type ExternalImageProxy,
  LINK_PREVIEW_SETTINGS,
  MEDIA_PATH_SIGNER,
  WEBHOOK_FILES,
} from '@parley/chat';
import { ConfigError, PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { Readiness } from '@parley/observability';
import type { FastifyInstance } from 'fastify';
import { AttachmentService } from './attachments.service';
import { LocalFileStore } from './drivers/local-file-store';
import { S3FileStore } from './drivers/s3-file-store';
import { FILE_STORE, type FileStore } from './file-store';
import {
  AttachmentsController,
  EmojisController,
  MediaProxyController,
  ProfileImagesController,
} from './media.controllers';
import { EmojiService } from './emojis.service';
import { MediaJobs } from './media.jobs';
import { UnfurlJobs } from './unfurl/unfurl.jobs';
import { MediaProxyService } from './media-proxy.service';
import { ProfileImageService } from './profile-images.service';
import { UnclaimedUploadSweeper } from './upload-expiry';
import { MediaUrlSigner } from './url-signer';
import { WebhookUploads } from './webhook-uploads';

/** The configured file store driver; an unknown driver name stops the boot (the schema refuses it first). */
export function createFileStore(config: ParleyConfig): FileStore {
  const driver = config.storage.driver;
  switch (driver) {
    case 'local':
      return new LocalFileStore(config.storage.local.path);
    case 's3':
      return new S3FileStore(config.storage.s3);
    default:
      throw new ConfigError([`storage.driver: unknown driver "${String(driver satisfies never)}"`]);
  }
}

/** What every media-handling process shares: the file store and the URL signer. */
@Global()
@Module({
  providers: [
    {
      provide: FILE_STORE,
      inject: [PARLEY_CONFIG, Readiness],
      useFactory: (config: ParleyConfig, readiness: Readiness) => {
        const store = createFileStore(config);
        readiness.register(`files:${store.driver}`, () => store.ping());
        return store;
      },
    },
    {
      provide: MediaUrlSigner,
      inject: [PARLEY_CONFIG],
      // The config schema requires a shared secret in microservices mode (api signs, media-proxy verifies).
      useFactory: (config: ParleyConfig) =>
        new MediaUrlSigner(config.media.signing_secret, config.media.signed_url_ttl),
    },
    // Lets chat sign the attachment URLs it puts in messages without importing this library.
    { provide: MEDIA_PATH_SIGNER, useExisting: MediaUrlSigner },
    // Lets chat's send path know whether to enqueue link unfurling (the queue role's UnfurlJobs).
    {
      provide: LINK_PREVIEW_SETTINGS,
      inject: [PARLEY_CONFIG],
      useFactory: (config: ParleyConfig) => ({ enabled: config.unfurl.enabled }),
    },
    // Lets chat set proxy_url on the pictures of embeds a sender gives (off when the external proxy is off).
    {
      provide: EXTERNAL_IMAGE_PROXY,
      inject: [PARLEY_CONFIG, MediaUrlSigner],
      useFactory: (config: ParleyConfig, signer: MediaUrlSigner): ExternalImageProxy | null =>
        config.media.external.enabled ? { url: (imageUrl) => signer.externalImagePath(imageUrl) } : null,
    },
    // Lets chat's webhook execute and edit take files through this library's upload pipeline.
    { provide: WEBHOOK_FILES, useClass: WebhookUploads },
  ],
  exports: [
    FILE_STORE,
    MediaUrlSigner,
    MEDIA_PATH_SIGNER,
    LINK_PREVIEW_SETTINGS,
    EXTERNAL_IMAGE_PROXY,
    WEBHOOK_FILES,
  ],
})
export class MediaCoreModule implements OnApplicationShutdown {
  constructor(@Inject(FILE_STORE) private readonly files: FileStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.files.close();
  }
}

const MULTIPART_REGISTERED = Symbol.for('parley.multipart');

/** Registers @fastify/multipart once per Fastify instance, before routes are served. */
@Injectable()
export class MultipartSupport implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.host.httpAdapter?.getInstance<FastifyInstance & { [MULTIPART_REGISTERED]?: true }>();
    if (!fastify || fastify[MULTIPART_REGISTERED]) return;
    fastify[MULTIPART_REGISTERED] = true;
    // Queued, not awaited: avvio loads it at startup in registration order, like any plugin registered
    // before listen. Per-request limits are set where a file is read (attachment vs avatar sizes).
    void fastify.register(multipart, { throwFileSizeLimit: true });
  }
}

/** api role: uploads, presigned direct uploads, avatars, guild icons and custom emoji. */
@Module({
  imports: [MediaCoreModule, AuthCoreModule, ChatCoreModule],
  controllers: [AttachmentsController, ProfileImagesController, EmojisController],
  providers: [AttachmentService, ProfileImageService, EmojiService, MultipartSupport],
})
export class MediaApiModule {}

/** The REST controllers of the api role's media part, for the OpenAPI document. */
export const MEDIA_API_CONTROLLERS = [AttachmentsController, ProfileImagesController, EmojisController];

/**
 * media-proxy role: `/media/...` only. Needs config, storage and logs (CoreModule) and nothing of
 * the api: compose it alone into a process, or next to the api in the monolith.
 */
@Module({
  imports: [MediaCoreModule],
  controllers: [MediaProxyController],
  providers: [MediaProxyService],
})
export class MediaProxyModule {}

/**
 * queue role: deletes the files of deleted messages, channels and guilds, and replaced avatars; sweeps
 * uploads no message claimed in time; unfurls links into link previews (unfurl/unfurl.jobs.ts).
 */
@Module({
  imports: [MediaCoreModule],
  providers: [MediaJobs, UnfurlJobs, UnclaimedUploadSweeper],
  exports: [UnclaimedUploadSweeper],
})
export class MediaJobsModule {}
