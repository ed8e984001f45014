export * from './voice.service';
export * from './voice.controller';
export * from './voice.module';
