import { Module } from '@nestjs/common';
import { SecretBox } from '@herald/platform';
import { SafeHttpClient } from './http/safe-http-client';
import { ChannelRegistry } from './registry';
import { ChannelSender } from './send/channel-sender';

@Module({ providers: [ChannelRegistry, SafeHttpClient, SecretBox, ChannelSender], exports: [ChannelRegistry, SafeHttpClient, ChannelSender] })
export class ChannelsModule {}
