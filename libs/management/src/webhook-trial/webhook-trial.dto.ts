import { ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { CreateWebhookDto } from '../webhooks/webhook.dto';

/**
 * A webhook form before it is saved: type, url and the signing secret are checked by the same
 * rules as a create (every bad field named at once); name and events only shape the message.
 */
export class TrialWebhookDto extends PickType(CreateWebhookDto, ['type', 'url', 'secret', 'locale'] as const) {
  @ApiPropertyOptional({ description: 'Quoted in the test message' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ description: 'The test message poses as the first of these event types' })
  @IsOptional()
  @IsString({ each: true })
  events?: string[];
}
