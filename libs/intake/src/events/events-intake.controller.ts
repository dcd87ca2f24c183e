import { Body, Controller, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequestSpan, type Principal, type TraceSpan } from '@herald/platform';
import { AcceptedBatchDto, AcceptedEventDto, EventDto } from './event.dto';
import { EventsIntakeService } from './events-intake.service';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'At most 255 characters. A repeat within 24 h returns the first answer with duplicate: true and stores nothing.',
};

@ApiTags('intake')
@ApiBearerAuth()
@Controller('v1/projects/:key/events')
export class EventsIntakeController {
  constructor(private readonly intake: EventsIntakeService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Accept one event; 202 means it is committed to Postgres' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 202, type: AcceptedEventDto })
  async one(
    @CurrentPrincipal() principal: Principal,
    @Param('key') key: string,
    @Body() event: EventDto,
    @Headers('idempotency-key') idempotencyKey?: string,
    @RequestSpan() span?: TraceSpan,
  ): Promise<AcceptedEventDto> {
    const [accepted] = await this.intake.accept(principal, key, [event], idempotencyKey, 'single', span);
    return accepted;
  }

  @Post('batch')
  @HttpCode(202)
  @ApiOperation({ summary: 'Accept up to 1000 events as a whole, or none' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiBody({ type: [EventDto] })
  @ApiResponse({ status: 202, type: AcceptedBatchDto })
  async batch(
    @CurrentPrincipal() principal: Principal,
    @Param('key') key: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey?: string,
    @RequestSpan() span?: TraceSpan,
  ): Promise<AcceptedBatchDto> {
    const events = await this.intake.parseBatch(body);
    return { items: await this.intake.accept(principal, key, events, idempotencyKey, 'batch', span) };
  }
}
