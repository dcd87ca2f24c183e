import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { Rfc3339Param } from '../queries/query.dto';

export class WebhookStatsDto {
  @ApiProperty() webhookId: string;
  @ApiProperty({ description: 'Deliveries created in the window' }) deliveries: number;
  @ApiProperty({ description: 'Of those, succeeded' }) succeeded: number;
  @ApiProperty({ description: 'Of those, failed or dead' }) failed: number;
  @ApiProperty({ type: Number, nullable: true, description: 'failed / (succeeded + failed), 0..1; null when none finished' }) failureRate: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'When the latest delivery of the webhook (any time) was created' }) lastDeliveryAt: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Its status' }) lastDeliveryStatus: string | null;
}

export class WebhookStatsListDto {
  @ApiProperty({ description: 'Start of the window (24 hours ago)' }) since: string;
  @ApiProperty({ type: [WebhookStatsDto] }) items: WebhookStatsDto[];
}

export class OverviewQueryDto {
  @ApiPropertyOptional({ minimum: 5, maximum: 1440, default: 60, description: 'Window in minutes' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(1440)
  minutes?: number;
}

export class MinuteDto {
  @ApiProperty({ description: 'Start of the minute' }) minute: string;
  @ApiProperty({ description: 'Events accepted' }) accepted: number;
  @ApiProperty({ description: 'Deliveries that succeeded' }) delivered: number;
}

export class OverviewDto {
  @ApiProperty() since: string;
  @ApiProperty() minutes: number;
  @ApiProperty({ type: [MinuteDto], description: 'One entry per minute of the window, oldest first, zeros included' }) perMinute: MinuteDto[];
  @ApiProperty() accepted: number;
  @ApiProperty() delivered: number;
  @ApiProperty({ description: 'Deliveries that failed or died in the window' }) failed: number;
  @ApiProperty({ type: Number, nullable: true, description: 'delivered / (delivered + failed) in the window, 0..1; null when nothing finished' }) successRate:
    number | null;
  @ApiProperty({ type: Number, nullable: true, description: '95th percentile of accepted → delivered, in ms, for deliveries that succeeded in the window' })
  p95LatencyMs: number | null;
  @ApiProperty({ description: 'Deliveries pending or being delivered now' }) backlog: number;
  @ApiProperty({ description: 'Dead deliveries (retries exhausted), any age: replayable' }) dead: number;
  @ApiProperty({ description: 'Webhooks disabled now' }) disabledWebhooks: number;
}

export class ConnectionStatsDto {
  @ApiProperty() connectionId: number;
  @ApiProperty({ type: String, nullable: true, description: 'When anything was last posted through it' }) lastReceivedAt: string | null;
  @ApiProperty() deployments: number;
  @ApiProperty({ description: 'Issues, incidents included' }) issues: number;
  @ApiProperty() incidents: number;
  @ApiProperty() pullRequests: number;
}

export class ConnectionStatsListDto {
  @ApiProperty({ type: [ConnectionStatsDto] }) items: ConnectionStatsDto[];
}

export class RecoverableQueryDto {
  @ApiProperty({ description: 'The webhook' })
  @IsUUID('all', { message: 'webhookId must be a webhook id (UUID)' })
  webhookId: string;

  @ApiProperty({ format: 'date-time', description: 'RFC 3339; as recover: created at or after' })
  @Rfc3339Param()
  since: Date;

  @ApiPropertyOptional({ format: 'date-time', description: 'RFC 3339; created before (default now)' })
  @IsOptional()
  @Rfc3339Param()
  until?: Date;
}

export class RecoverableDto {
  @ApiProperty({ description: 'Failed or dead deliveries that POST .../webhooks/{id}/recover with the same window would replay now' }) count: number;
  @ApiProperty() since: string;
  @ApiProperty() until: string;
}
