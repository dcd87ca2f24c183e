import { Module } from '@nestjs/common';
import { SafeHttpClient } from './http/safe-http-client';
import { ChannelRegistry } from './registry';

@Module({ providers: [ChannelRegistry, SafeHttpClient], exports: [ChannelRegistry, SafeHttpClient] })
export class ChannelsModule {}
